//! What a new user meets at the terminal: closed pipes, interrupts at the
//! approval prompt, SIGTERM with nobody reading stderr, and the exit codes
//! of usage errors.

use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A state file holding one output big enough to fill a pipe.
fn state_with_big_output(dir: &Path, stack: &str) -> std::path::PathBuf {
    let path = dir.join("stackd.state.json");
    let doc = serde_json::json!({
        "format_version": 1,
        "stackd_version": "0.1.0",
        "lineage": "6f1c2d3e-0000-4000-8000-000000000001",
        "serial": 1,
        "stack": stack,
        "resources": [],
        "outputs": {
            "big": {"value": "x".repeat(1 << 20), "sensitive": false},
            "small": {"value": "y", "sensitive": false}
        }
    });
    std::fs::write(&path, serde_json::to_vec(&doc).expect("json")).expect("write state");
    path
}

/// Runs stackd with stdout a pipe whose reader is already gone.
fn run_with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackd"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stackd");
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    (status.code(), stderr)
}

#[test]
fn writing_to_a_closed_stdout_never_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = dir.path().join("pipes");
    std::fs::create_dir(&spec).expect("spec dir");
    state_with_big_output(&spec, "pipes");
    let d = spec.to_str().expect("utf-8");
    for args in [
        vec!["output", d, "--json"],
        vec!["output", d],
        vec!["state", "pull", d],
        vec!["--help"],
    ] {
        let (code, stderr) = run_with_closed_stdout(&args);
        assert!(!stderr.contains("panicked"), "stackd {args:?}: {stderr}");
        assert_eq!(code, Some(0), "stackd {args:?}: {stderr}");
    }
}

#[test]
fn usage_errors_exit_64_and_help_lists_the_exit_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, "{}").expect("write plan");
    let p = plan.to_str().expect("utf-8");
    let d = dir.path().to_str().expect("utf-8");
    for args in [
        vec!["diff", "--no-such-flag"],
        vec!["no-such-command"],
        vec![],
        vec!["apply", "--parallelism", "0"],
        vec!["apply", p, "--dry-run"],
        vec!["output", d, "--state", p, "--backend", "s3://b/k"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stackd"))
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run stackd");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "stackd {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_stackd"))
        .arg("--help")
        .output()
        .expect("run stackd");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for line in ["Exit codes:", "  0 ", "  1 ", "  2 ", "  64 ", "  130 "] {
        assert!(help.contains(line), "--help lacks {line:?}:\n{help}");
    }
}

/// A spec of a `null_resource` whose provisioner touches `started` in the
/// spec directory, then sleeps, and one that waits for it.
fn slow_spec(dir: &Path, sleep_secs: u32) {
    std::fs::write(
        dir.join("main.tf"),
        format!(
            "resource \"null_resource\" \"slow\" {{\n  triggers = {{ n = \"1\" }}\n\
             \n  provisioner \"local-exec\" {{\n    command = \"touch ${{path.module}}/started && sleep {sleep_secs}\"\n  }}\n}}\n\
             \nresource \"null_resource\" \"after\" {{\n  triggers = {{ slow = null_resource.slow.id }}\n}}\n"
        ),
    )
    .expect("write spec");
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for the child to exit within `timeout`; kills it and fails if not.
fn exit_within(child: &mut Child, timeout: Duration, what: &str) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("stackd did not exit within {timeout:?} after {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with a child's pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

#[test]
fn sigterm_with_stderr_closed_still_finishes_in_flight_work_and_releases_the_lock() {
    require_localstack();
    let dir = tempfile::tempdir().expect("temp dir");
    slow_spec(dir.path(), 3);
    let d = dir.path().to_str().expect("utf-8");
    let stack = unique_stack("term");
    let mut child = stackd(&["apply", d, "--stack", &stack, "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stackd");
    // Nobody reads stderr any more: every message stackd writes there fails.
    drop(child.stderr.take());
    let started = dir.path().join("started");
    wait_for("the provisioner to start", Duration::from_secs(60), || {
        started.exists()
    });
    signal(&child, libc::SIGTERM);
    let code = exit_within(&mut child, Duration::from_secs(60), "SIGTERM");
    assert_eq!(code, Some(1), "an interrupted apply exits 1");
    let state = std::fs::read_to_string(dir.path().join("stackd.state.json")).expect("state");
    assert!(
        state.contains("\"null_resource.slow\""),
        "the create in flight was recorded: {state}"
    );
    assert!(
        !state.contains("\"null_resource.after\""),
        "nothing was started after the interrupt: {state}"
    );
    assert!(
        !dir.path().join("stackd.state.json.lock").exists(),
        "the lock was released"
    );
}

/// A pseudo-terminal: the master side, and the path of the slave side.
struct Pty {
    master: std::fs::File,
    slave: std::path::PathBuf,
}

fn open_pty() -> Pty {
    // SAFETY: plain libc calls on a descriptor this function owns; the
    // name buffer outlives ptsname_r.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(fd), 0, "grantpt");
        assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(fd, name.as_mut_ptr(), name.len()),
            0,
            "ptsname_r"
        );
        let slave = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .into_owned();
        Pty {
            master: std::fs::File::from_raw_fd(fd),
            slave: slave.into(),
        }
    }
}

#[test]
fn an_interrupt_at_the_approval_prompt_ends_the_run_at_once() {
    require_localstack();
    let dir = tempfile::tempdir().expect("temp dir");
    slow_spec(dir.path(), 1);
    let d = dir.path().to_str().expect("utf-8");
    let stack = unique_stack("prompt");
    let pty = open_pty();
    let tty = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&pty.slave)
            .expect("open pty slave")
    };
    let mut child = stackd(&["apply", d, "--stack", &stack])
        .stdin(tty())
        .stdout(tty())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn stackd");
    // Read what stackd prints on the terminal until it asks.
    let (tx, rx) = std::sync::mpsc::channel();
    let mut master = pty.master.try_clone().expect("clone pty master");
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            let _ = tx.send(String::from_utf8_lossy(&seen).into_owned());
        }
    });
    let mut printed = String::new();
    wait_for("the approval prompt", Duration::from_secs(60), || {
        while let Ok(s) = rx.try_recv() {
            printed = s;
        }
        printed.contains("Only 'yes' will be accepted")
    });
    signal(&child, libc::SIGINT);
    // Before the fix this waited for Enter: nobody presses it here.
    let code = exit_within(&mut child, Duration::from_secs(20), "SIGINT at the prompt");
    assert_eq!(code, Some(1), "{printed}");
    assert!(
        !dir.path().join("stackd.state.json.lock").exists(),
        "the lock was released"
    );
    assert!(!dir.path().join("started").exists(), "nothing was applied");
    // Keep the terminal open until stackd is gone.
    let _ = (&pty.master).write_all(b"");
}
