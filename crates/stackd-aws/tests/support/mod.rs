//! What the LocalStack tests of this crate share: pointing the SDK at the
//! emulator, failing loudly (with instructions) when it is not there, and
//! desired arguments in schema shape.

use std::collections::BTreeMap;
use std::time::Duration;

use stackd_aws::AwsProvider;
use stackd_engine::provider::{Owner, Provider, ADDRESS_TAG, STACK_ID_TAG, STACK_TAG};
use stackd_spec::{Address, Mode, Value};

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

/// Desired arguments in schema shape, as the engine hands them to a
/// provider: every argument present (its default or null), `args` on top,
/// and for taggable types `tags_all` = `tags` plus the ownership tags of
/// `stack`. (The CI/CD and ELBv2/ECS tests fill nested blocks too and keep
/// their own.)
#[allow(dead_code)] // not every test binary uses it
pub fn desired_args(
    provider: &AwsProvider,
    stack: &str,
    addr: &Address,
    args: &[(&str, Value)],
) -> Value {
    desired_args_for(provider, &owner(stack), addr, args)
}

/// [`desired_args`] for any owner (another copy of a stack has the same
/// name and another identity).
#[allow(dead_code)] // not every test binary uses it
pub fn desired_args_for(
    provider: &AwsProvider,
    owner: &Owner,
    addr: &Address,
    args: &[(&str, Value)],
) -> Value {
    let schema = provider
        .schemas()
        .get(Mode::Managed, &addr.block.type_name)
        .expect("known type");
    let mut m: BTreeMap<String, Value> = BTreeMap::new();
    for a in schema.body.attrs.iter().filter(|a| a.is_argument()) {
        m.insert(a.name.to_string(), a.default.clone().unwrap_or(Value::Null));
    }
    for (k, v) in args {
        m.insert(k.to_string(), v.clone());
    }
    if schema.taggable {
        let mut tags: BTreeMap<String, Value> = m
            .get("tags")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        tags.insert(STACK_TAG.into(), Value::from(owner.name.as_str()));
        tags.insert(STACK_ID_TAG.into(), Value::from(owner.id.as_str()));
        tags.insert(ADDRESS_TAG.into(), Value::from(addr.to_tag_value()));
        m.insert("tags_all".into(), Value::Map(tags));
    }
    Value::Map(m)
}

/// The owner the tests act as for `stack`: a stable identity per name.
#[allow(dead_code)] // not every test binary uses it
pub fn owner(stack: &str) -> Owner {
    Owner::new(stack, format!("id-{stack}"))
}
