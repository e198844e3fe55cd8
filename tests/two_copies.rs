//! Two copies of one spec in directories with the same base name (so the
//! same default stack name), applied one after the other with default
//! flags: each keeps its own objects, and neither plan mentions the
//! other's. Ownership is the state's identity (`stackd:stack-id`), not the
//! name.

use std::path::Path;

use crate::support::*;

const RESOURCES: usize = 7;

/// Copies the fixture into `parent/name`.
fn copy_into(parent: &Path, name: &str) -> String {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let src = root().join("tests/fixtures/small-net/main.tf");
    std::fs::copy(src, dir.join("main.tf")).expect("copy spec");
    dir.to_str().expect("utf-8").to_string()
}

/// The stack identity recorded in a copy's state.
fn lineage(dir: &str) -> String {
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(dir).join("stackd.state.json")).expect("state file"),
    )
    .expect("state JSON");
    state["lineage"].as_str().expect("lineage").to_string()
}

/// VPC IDs tagged with the stack name, each with its identity tag.
async fn vpcs(ec2: &aws_sdk_ec2::Client, name: &str) -> Vec<(String, String)> {
    let out = ec2
        .describe_vpcs()
        .filters(stack_filter(name))
        .send()
        .await
        .expect("DescribeVpcs");
    let mut found: Vec<(String, String)> = out
        .vpcs()
        .iter()
        .filter(|v| {
            // LocalStack may ignore filters: check on the answer.
            v.tags()
                .iter()
                .any(|t| t.key() == Some("stackd:stack") && t.value() == Some(name))
        })
        .map(|v| {
            let id = v
                .tags()
                .iter()
                .find(|t| t.key() == Some("stackd:stack-id"))
                .and_then(|t| t.value())
                .unwrap_or_default();
            (v.vpc_id().unwrap_or_default().to_string(), id.to_string())
        })
        .collect();
    found.sort();
    found
}

/// The plan as JSON, asserting every change is a create of something new.
fn assert_plans_only_its_own_creates(dir: &str) {
    let out = run_ok(&["diff", dir, "--format", "json"], 0);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    let changes = plan["resource_changes"].as_array().expect("changes");
    assert_eq!(changes.len(), RESOURCES, "{plan:#}");
    for c in changes {
        assert_eq!(c["action"], "create", "{c:#}");
        assert_eq!(c["reasons"][0]["code"], "new", "{c:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_copies_with_the_same_directory_name_keep_their_own_objects() {
    require_localstack();
    let ec2 = ec2().await;
    let name = unique_stack("copy");
    let a_parent = tempfile::tempdir().expect("tempdir");
    let b_parent = tempfile::tempdir().expect("tempdir");
    let a = copy_into(a_parent.path(), &name);
    let b = copy_into(b_parent.path(), &name);

    assert_plans_only_its_own_creates(&a);
    run_ok(&["apply", &a, "--auto-approve"], 0);
    let a_vpcs = vpcs(&ec2, &name).await;
    assert_eq!(a_vpcs.len(), 1, "{a_vpcs:?}");
    assert_eq!(a_vpcs[0].1, lineage(&a), "tagged with A's identity");

    // B's plan: only its own creates, nothing of A's adopted or deleted.
    assert_plans_only_its_own_creates(&b);
    let text = stdout(&run_ok(&["diff", &b], 0));
    assert!(
        !text.contains(&a_vpcs[0].0),
        "B's plan names A's VPC:\n{text}"
    );
    run_ok(&["apply", &b, "--auto-approve"], 0);

    let both = vpcs(&ec2, &name).await;
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(both.contains(&a_vpcs[0]), "A's VPC is untouched: {both:?}");
    let b_vpc = both
        .iter()
        .find(|v| **v != a_vpcs[0])
        .expect("B's VPC")
        .clone();
    assert_eq!(b_vpc.1, lineage(&b));
    assert_ne!(lineage(&a), lineage(&b));
    assert_eq!(
        count_by_kind(&tagged_resources(&ec2, &name).await)["vpc"],
        2
    );

    // Each copy sees only itself.
    run_ok(&["diff", &a, "--detailed-exitcode"], 0);
    run_ok(&["diff", &b, "--detailed-exitcode"], 0);

    // Destroying B leaves A whole.
    run_ok(&["destroy", &b, "--auto-approve"], 0);
    assert_eq!(vpcs(&ec2, &name).await, a_vpcs);
    run_ok(&["diff", &a, "--detailed-exitcode"], 0);
    run_ok(&["destroy", &a, "--auto-approve"], 0);
    assert!(vpcs(&ec2, &name).await.is_empty());
    assert!(tagged_resources(&ec2, &name).await.is_empty());
}
