//! `stackd validate` reports every mistake at once with file:line:col and
//! exits 1, touching no network (no endpoint is configured here).

mod support;

use std::process::Command;

fn validate(dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackd"))
        .args(["validate", dir.to_str().expect("utf-8 path")])
        .env("NO_COLOR", "1")
        // An endpoint that refuses connections: validate must not need it.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("run stackd")
}

#[test]
fn five_mistakes_are_reported_together_with_locations() {
    let dir = support::root().join("tests/fixtures/five-mistakes");
    let out = validate(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(1));
    let file = dir.join("main.tf");
    let file = file.display();
    for (what, location) in [
        ("10.0.0.0/33", format!("{file}:5:16")),
        ("unknown argument \"cidr_blok\"", format!("{file}:10:3")),
        ("did you mean \"cidr_block\"", String::new()),
        ("reference to undeclared resource aws_vpc.mian", format!("{file}:14:16")),
        ("unknown resource type \"aws_load_balancer\"", format!("{file}:18:10")),
        ("dependency cycle: aws_security_group.app → aws_security_group.db → aws_security_group.app", String::new()),
    ] {
        assert!(stderr.contains(what), "missing {what:?}");
        assert!(stderr.contains(&location), "missing location {location:?} for {what:?}");
    }
    assert!(!stderr.contains("panicked"));
}

#[test]
fn the_reference_network_spec_is_valid() {
    let out = validate(&support::root().join("specs/network"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let out = validate(std::path::Path::new("/nonexistent/spec"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("/nonexistent/spec"), "{stderr}");
}

#[test]
fn a_file_given_as_the_spec_directory_says_it_is_a_file() {
    let file = support::root().join("specs/network/main.tf");
    let out = validate(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a file, not a directory"), "{stderr}");
    assert!(!stderr.contains("does not exist"), "{stderr}");
    let dir = support::root().join("specs/network");
    assert!(
        stderr.contains(dir.to_str().expect("utf-8")),
        "names the directory: {stderr}"
    );
}

#[test]
fn stack_names_aws_tags_cannot_hold_are_refused() {
    let dir = support::root().join("specs/network");
    let with_stack = |stack: &str| {
        Command::new(env!("CARGO_BIN_EXE_stackd"))
            .args(["validate", dir.to_str().expect("utf-8"), "--stack", stack])
            .env("NO_COLOR", "1")
            .output()
            .expect("run stackd")
    };
    for (stack, why) in [
        ("", "needs a name"),
        ("web*prod", "'*'"),
        ("web#1", "'#'"),
        ("tab\there", "'\\t'"),
        (&"x".repeat(257), "257 characters"),
    ] {
        let out = with_stack(stack);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "--stack {stack:?}: {stderr}");
        assert!(stderr.contains(why), "--stack {stack:?}: {stderr}");
    }
    for fine in [
        "web-prod_1",
        "team:web/prod=blue+green@2",
        "Équipe Ωmega 7",
        &"é".repeat(256),
    ] {
        let out = with_stack(fine);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "--stack {fine:?}: {stderr}");
    }

    // Derived from the directory's name: the message says to pass --stack.
    let tmp = tempfile::tempdir().expect("temp dir");
    let odd = tmp.path().join("web(copy)");
    std::fs::create_dir(&odd).expect("dir");
    for entry in std::fs::read_dir(&dir).expect("spec dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "tf") {
            std::fs::copy(&path, odd.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let out = validate(&odd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("spec directory's name") && stderr.contains("--stack"),
        "{stderr}"
    );
}
