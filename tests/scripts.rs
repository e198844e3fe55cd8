//! The scripts a new user runs first (`localstack/demo.sh`) find the
//! stackd binary wherever cargo builds it, and show the build's progress.

use std::process::Command;

use crate::support::root;

#[test]
fn the_demo_finds_stackd_where_cargo_target_dir_puts_it() {
    let target = tempfile::tempdir().expect("temp dir");
    let out = Command::new("bash")
        .arg(root().join("localstack/build-stackd.sh"))
        .arg("--print-path")
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .expect("run build-stackd.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        target.path().join("debug/stackd").display().to_string()
    );

    let demo = std::fs::read_to_string(root().join("localstack/demo.sh")).expect("demo.sh");
    assert!(
        !demo.contains("target/debug/stackd"),
        "demo.sh hard-codes the target directory"
    );
    assert!(
        demo.contains("build-stackd.sh"),
        "demo.sh builds through it"
    );
    let build = std::fs::read_to_string(root().join("localstack/build-stackd.sh")).expect("script");
    assert!(!build.contains("--quiet"), "the build shows its progress");
}
