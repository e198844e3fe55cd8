//! Faults of the transport rather than of one call: an endpoint that
//! accepts connections and never answers, and reads throttled at a high
//! rate (one read in five, far above what AWS does to a client that
//! behaves; the SDK's adaptive limiter slows stackd down after each).
//! stackd must end (non-zero, naming the endpoint) in the first case
//! and converge in the second.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::fault_proxy::FaultProxy;
use crate::support::*;

#[test]
fn an_endpoint_that_never_answers_ends_the_run_naming_it() {
    // Accepts every connection and never writes a byte.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let spec = copy_spec(&root().join("tests/fixtures/small-net"));
    let dir = spec.path().to_str().expect("utf-8");
    let started = Instant::now();
    let out = stackd(&["diff", dir, "--stack", &unique_stack("silent")])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("STACKD_AWS_ATTEMPT_TIMEOUT", "1")
        .output()
        .expect("run stackd");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("took {took:?}\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "the error names the endpoint: {stderr}"
    );
    assert!(
        !stderr.contains("DispatchFailure") && !stderr.contains("SdkBody"),
        "no debug dump: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_op_diffs_converge_when_a_fifth_of_the_reads_are_throttled() {
    require_localstack();
    let spec = copy_spec(&root().join("specs/network"));
    let dir = spec.path().to_str().expect("utf-8");
    let stack = unique_stack("throttled");
    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    let proxy = FaultProxy::start(&endpoint());
    proxy.throttle_every(5);
    for _ in 0..2 {
        let out = stackd(&["diff", dir, "--stack", &stack, "--detailed-exitcode"])
            .env("AWS_ENDPOINT_URL", proxy.endpoint())
            .output()
            .expect("run stackd");
        assert_eq!(
            out.status.code(),
            Some(0),
            "a throttled no-op diff must still say no changes: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        proxy.throttled() >= 4,
        "the proxy throttled {} reads",
        proxy.throttled()
    );
    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
}
