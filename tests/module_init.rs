//! `stackd init`: git modules fetched with the system git into
//! `.stackd/modules`, their commits locked; a changed `ref` is an error
//! until `stackd init -upgrade`; a ref that does not exist is a clear error.

use crate::support::git;

use std::path::Path;
use std::process::Command;

fn stackd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stackd"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run stackd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn locked_commit(spec: &Path) -> String {
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(spec.join(".stackd/modules.lock.json")).expect("lock"),
    )
    .expect("lock JSON");
    lock["modules"][0]["commit"]
        .as_str()
        .expect("commit")
        .to_string()
}

#[test]
fn init_fetches_locks_and_upgrades_only_when_asked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(work.join("m")).expect("mkdir");
    let module = |version: &str| {
        format!("variable \"name\" {{}}\n\noutput \"greeting\" {{\n  value = \"{version} ${{var.name}}\"\n}}\n")
    };
    std::fs::write(work.join("m/main.tf"), module("v1")).expect("write");
    git(&work, &["init", "--quiet"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "--quiet", "-m", "one"]);
    git(&work, &["tag", "v1"]);
    let v1 = git(&work, &["rev-parse", "HEAD"]);
    std::fs::write(work.join("m/main.tf"), module("v2")).expect("write");
    git(&work, &["commit", "--quiet", "-am", "two"]);
    git(&work, &["tag", "v2"]);
    let v2 = git(&work, &["rev-parse", "HEAD"]);
    git(
        tmp.path(),
        &["clone", "--quiet", "--bare", "work", "repo.git"],
    );

    let spec = tmp.path().join("spec");
    std::fs::create_dir_all(&spec).expect("mkdir");
    let root = |r: &str| {
        format!(
            "module \"hello\" {{\n  source = \"git::file://{}/repo.git//m?ref={r}\"\n  name   = \"x\"\n}}\n\noutput \"g\" {{\n  value = module.hello.greeting\n}}\n",
            tmp.path().display()
        )
    };
    std::fs::write(spec.join("main.tf"), root("v1")).expect("write");
    let dir = spec.to_str().expect("utf-8");

    let (code, out, err) = stackd(&["init", dir]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("module hello: git::file://"), "{out}");
    assert_eq!(locked_commit(&spec), v1);
    let (code, out, _) = stackd(&["init", dir]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to do"), "{out}");

    // A new ref is not fetched behind the user's back.
    std::fs::write(spec.join("main.tf"), root("v2")).expect("write");
    let (code, _, err) = stackd(&["validate", dir]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("its source changed since `stackd init`"),
        "{err}"
    );
    assert!(err.contains("stackd init -upgrade"), "{err}");
    assert!(err.contains("main.tf:2:"), "{err}");
    let (code, _, err) = stackd(&["init", dir]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(locked_commit(&spec), v1);

    // Terraform's single-dash flag.
    let (code, out, err) = stackd(&["init", "-upgrade", dir]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(locked_commit(&spec), v2);
    let (code, out, err) = stackd(&["validate", dir]);
    assert_eq!(code, 0, "{out}{err}");

    // A ref that does not exist.
    std::fs::write(spec.join("main.tf"), root("v9")).expect("write");
    let (code, _, err) = stackd(&["init", "-upgrade", dir]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("has no ref \"v9\""), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The module fetched before is still there, as locked.
    assert_eq!(locked_commit(&spec), v2);
    std::fs::write(spec.join("main.tf"), root("v2")).expect("write");
    let (code, out, err) = stackd(&["validate", dir]);
    assert_eq!(code, 0, "{out}{err}");
}
