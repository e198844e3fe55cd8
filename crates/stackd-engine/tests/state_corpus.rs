//! The state fuzz corpus: every file under `tests/fuzz-corpus/` is a state
//! file at the edges (serial u64::MAX and past it, nesting deeper than the
//! JSON parser's limit, invalid UTF-8, a byte order mark, keys with quotes
//! and NULs). `decode` answers each with a state or an error, and a state
//! it accepts survives `encode` unchanged. The generator that mutates state
//! files lives in `fuzz/` (proptest, a workspace of its own).

use std::path::Path;

use stackd_engine::state::{decode, encode};

const PATH: &str = "/nonexistent/stackd-fuzz/stackd.state.json";

/// A state file `decode` accepts must round-trip through `encode`.
fn check_decode(bytes: &[u8]) {
    let path = Path::new(PATH);
    if let Ok(state) = decode(bytes, path) {
        let again = encode(&state, path).expect("an accepted state encodes");
        let back = decode(&again, path).expect("an encoded state decodes");
        assert_eq!(back, state, "the state changed through encode and decode");
    }
}

/// Every file under `tests/fuzz-corpus/`: state files that are wrong at the
/// edges (serial u64::MAX and past it, nesting deeper than the parser's
/// limit, invalid UTF-8, a byte order mark). Each decodes or is an error.
#[test]
fn the_state_fuzz_corpus_decodes_or_is_an_error() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .expect("tests/fuzz-corpus exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).expect("read corpus file");
        check_decode(&bytes);
    }
    // The largest serial is read as it is; saving past it is the writer's
    // concern (it must refuse rather than wrap).
    let max = std::fs::read(corpus.join("serial-u64-max.json")).expect("corpus file");
    let state = decode(&max, Path::new(PATH)).expect("serial u64::MAX decodes");
    assert_eq!(state.serial, u64::MAX);
}
