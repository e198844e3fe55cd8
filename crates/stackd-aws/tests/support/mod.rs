//! What the LocalStack tests of this crate share: pointing the SDK at the
//! emulator, failing loudly (with instructions) when it is not there.

use std::time::Duration;

/// Points the SDK at LocalStack (`STACKD_TEST_ENDPOINT`, default
/// `http://127.0.0.1:4566`) and returns the endpoint; panics saying how to
/// start LocalStack when nothing answers there.
pub fn use_localstack() -> String {
    let endpoint =
        std::env::var("STACKD_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let reachable = addr
        .parse()
        .ok()
        .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(3)).ok())
        .is_some();
    assert!(
        reachable,
        "LocalStack is not reachable at {endpoint}. Start it with `bash localstack/start.sh` \
         (or run every test with `bash tests/run-all.sh`, which starts it)."
    );
    // One test per process under nextest; under cargo test each of these
    // binaries has a single test, so setting the environment races with nothing.
    std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::remove_var("AWS_PROFILE");
    endpoint
}
