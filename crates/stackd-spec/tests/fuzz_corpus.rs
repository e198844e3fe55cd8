//! The fuzz corpus: every spec directory under `tests/fuzz-corpus/` is an
//! input that once crashed, overflowed or ran away (non-ASCII text near
//! syntax errors, byte order marks, count and format bombs, 2,000-deep
//! splats and nesting, self-recursive templates, sensitive values in
//! errors, provider aliases...). The generators that found such inputs live
//! in `fuzz/` (proptest, a workspace of its own); these stay here so every
//! test run checks them.

mod support;

use std::path::Path;

use stackd_spec::config::Config;
use stackd_spec::vars::VarInputs;

/// Every spec directory under `tests/fuzz-corpus/`: inputs that crashed,
/// overflowed or ran away before. Each must give diagnostics (they are all
/// wrong in some way) and no panic.
#[test]
fn the_fuzz_corpus_gives_diagnostics_not_crashes() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut dirs: Vec<_> = std::fs::read_dir(&corpus)
        .expect("tests/fuzz-corpus exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "{dirs:?}");
    for dir in dirs {
        let started = std::time::Instant::now();
        let (config, diags) = Config::load_dir(&dir).expect("read corpus entry");
        let report = support::check_config(config, diags, &VarInputs::default());
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(
            report.errors >= 1,
            "{name}: expected an error:\n{}",
            report.text
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{name} took {:?}",
            started.elapsed()
        );
        assert!(!report.text.contains("Pa55w0rd"), "{name}: {}", report.text);
    }
}
