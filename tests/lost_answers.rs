//! Lost answers: a fault proxy (tests/support/fault_proxy.rs) forwards a
//! call to LocalStack, which carries it out, and then drops the connection
//! without answering, as a connection lost after AWS acted would. An apply
//! must then end with exactly one object per resource (checked with the
//! SDK) and exit 0 only when that holds; a SIGKILL right after a create's
//! answer must be recovered by the next run; a destroy whose detach answer
//! was lost must still end promptly.

use crate::support;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::*;

/// `stackd` with its AWS calls going through `proxy`.
fn via(proxy: &FaultProxy, args: &[&str]) -> Output {
    let out = stackd(args)
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .output()
        .expect("run stackd");
    eprintln!(
        "$ stackd {} (through the fault proxy)\n--- exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What a clean apply of specs/network leaves: tagged objects by kind.
const NETWORK: &[(&str, usize)] = &[
    ("eip", 1),
    ("igw", 1),
    ("nat", 1),
    ("rtb", 2),
    ("sg", 3),
    ("subnet", 4),
    ("vpc", 1),
];

/// Route table associations of the stack's route tables.
async fn associations(ec2: &aws_sdk_ec2::Client, stack: &str) -> usize {
    ec2.describe_route_tables()
        .filters(stack_filter(stack))
        .send()
        .await
        .expect("DescribeRouteTables")
        .route_tables()
        .iter()
        .flat_map(|t| t.associations())
        .filter(|a| a.main() != Some(true))
        .count()
}

/// Loses the answer of the first call of `operation` during an apply of
/// the network tier, then checks the cloud holds exactly one object per
/// resource and nothing is left to do.
async fn network_apply_survives_a_lost_answer_to(operation: &str) {
    require_localstack();
    let ec2 = ec2().await;
    let spec = copy_spec(&root().join("specs/network"));
    let dir = spec.path().to_str().expect("utf-8");
    let stack = unique_stack(&format!("lost-{}", operation.to_lowercase()));
    let proxy = FaultProxy::start(&endpoint());
    proxy.on(operation, 1, Fault::LoseAnswer);

    let out = via(&proxy, &["apply", dir, "--stack", &stack, "--auto-approve"]);
    assert_eq!(
        proxy.fired(),
        [format!("{operation}#1")],
        "the apply never called {operation}: {:?}",
        proxy.log()
    );
    let counts = count_by_kind(&tagged_resources(&ec2, &stack).await);
    let expected: std::collections::BTreeMap<String, usize> =
        NETWORK.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    assert_eq!(
        counts, expected,
        "after losing {operation}'s answer, the cloud holds other than one object per resource"
    );
    assert_eq!(associations(&ec2, &stack).await, 4);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the apply must succeed once the cloud is right"
    );
    // State and cloud agree: nothing left to do, nothing untracked.
    run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);
    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert!(tagged_resources(&ec2, &stack).await.is_empty());
}

macro_rules! lost_answer_tests {
    ($($name:ident: $op:literal,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                network_apply_survives_a_lost_answer_to($op).await;
            }
        )*
    };
}

// Every mutating call an apply of specs/network makes.
lost_answer_tests! {
    lost_answer_to_create_vpc_leaves_one_vpc: "CreateVpc",
    lost_answer_to_modify_vpc_attribute: "ModifyVpcAttribute",
    lost_answer_to_create_subnet_leaves_one_subnet: "CreateSubnet",
    lost_answer_to_modify_subnet_attribute: "ModifySubnetAttribute",
    lost_answer_to_create_internet_gateway_leaves_one_gateway: "CreateInternetGateway",
    lost_answer_to_attach_internet_gateway: "AttachInternetGateway",
    lost_answer_to_allocate_address_leaves_one_eip: "AllocateAddress",
    lost_answer_to_create_nat_gateway_leaves_one_nat: "CreateNatGateway",
    lost_answer_to_create_route_table_leaves_one_table: "CreateRouteTable",
    lost_answer_to_create_route: "CreateRoute",
    lost_answer_to_associate_route_table: "AssociateRouteTable",
    lost_answer_to_create_security_group_leaves_one_group: "CreateSecurityGroup",
    lost_answer_to_revoke_security_group_egress: "RevokeSecurityGroupEgress",
    lost_answer_to_authorize_security_group_egress: "AuthorizeSecurityGroupEgress",
    lost_answer_to_authorize_security_group_ingress: "AuthorizeSecurityGroupIngress",
}

async fn s3() -> aws_sdk_s3::Client {
    support::s3().await
}

async fn ecs() -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&sdk_config().await)
}

/// The bucket's tags; `None` when there is no such bucket.
async fn bucket_tags(s3: &aws_sdk_s3::Client, bucket: &str) -> Option<Vec<(String, String)>> {
    s3.head_bucket().bucket(bucket).send().await.ok()?;
    let tags = match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(t) => t
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(_) => Vec::new(),
    };
    Some(tags)
}

/// ACTIVE revisions of a task definition family.
async fn active_revisions(ecs: &aws_sdk_ecs::Client, family: &str) -> Vec<String> {
    ecs.list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .expect("ListTaskDefinitions")
        .task_definition_arns()
        .iter()
        .filter(|a| a.contains(&format!("/{family}:")))
        .cloned()
        .collect()
}

/// A spec directory with the bucket-and-task fixture for `name`.
fn bucket_and_task(name: &str) -> tempfile::TempDir {
    let spec = copy_spec(&root().join("tests/fixtures/bucket-and-task"));
    std::fs::write(
        spec.path().join("terraform.tfvars"),
        format!("name = \"{name}\"\n"),
    )
    .expect("tfvars");
    spec
}

/// Checks the bucket and task definition exist exactly once, as the
/// stack's, then destroys and checks they are gone.
async fn check_one_of_each_then_destroy(dir: &str, stack: &str, name: &str) {
    let (s3, ecs) = (s3().await, ecs().await);
    let tags = bucket_tags(&s3, &format!("{name}-assets"))
        .await
        .expect("the bucket exists");
    assert!(
        tags.iter().any(|(k, v)| k == "stackd:stack" && v == stack),
        "the bucket carries the ownership tags: {tags:?}"
    );
    assert_eq!(
        active_revisions(&ecs, &format!("{name}-app")).await.len(),
        1,
        "exactly one ACTIVE task definition revision"
    );
    run_ok(&["diff", dir, "--stack", stack, "--detailed-exitcode"], 0);
    run_ok(&["destroy", dir, "--stack", stack, "--auto-approve"], 0);
    assert!(bucket_tags(&s3, &format!("{name}-assets")).await.is_none());
    assert!(active_revisions(&ecs, &format!("{name}-app"))
        .await
        .is_empty());
}

async fn apply_survives_a_lost_answer_to(operation: &str) {
    require_localstack();
    let stack = unique_stack(&format!("lost-{}", operation.to_lowercase()));
    let name = stack.to_lowercase();
    let spec = bucket_and_task(&name);
    let dir = spec.path().to_str().expect("utf-8");
    let proxy = FaultProxy::start(&endpoint());
    proxy.on(operation, 1, Fault::LoseAnswer);
    let out = via(&proxy, &["apply", dir, "--stack", &stack, "--auto-approve"]);
    assert_eq!(
        proxy.fired(),
        [format!("{operation}#1")],
        "{:?}",
        proxy.log()
    );
    assert_eq!(out.status.code(), Some(0));
    check_one_of_each_then_destroy(dir, &stack, &name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_answer_to_create_bucket_leaves_one_tagged_bucket() {
    apply_survives_a_lost_answer_to("CreateBucket").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_answer_to_register_task_definition_leaves_one_revision() {
    apply_survives_a_lost_answer_to("RegisterTaskDefinition").await;
}

/// Kills stackd right after `operation`'s answer reached it (before it
/// could tag or record the object), then runs `then` directly.
async fn killed_right_after(operation: &str, then: &str) {
    killed_right_after_with_state(operation, then, false).await;
}

/// The same, with the state in S3 (`state_in_s3`): the create's pending
/// record is a change object in S3 before its call, and the next run
/// replays it and finds the object by its token.
async fn killed_right_after_with_state(operation: &str, then: &str, state_in_s3: bool) {
    require_localstack();
    let stack = unique_stack(&format!("kill-{}", operation.to_lowercase()));
    let name = stack.to_lowercase();
    let spec = bucket_and_task(&name);
    let dir = spec.path().to_str().expect("utf-8");
    if state_in_s3 {
        let bucket = format!("{name}-state");
        create_bucket(&s3().await, &bucket).await;
        std::fs::write(
            spec.path().join("backend.tf"),
            s3_backend(&bucket, "stackd.state.json"),
        )
        .expect("write backend");
    }
    let proxy = FaultProxy::start(&endpoint());
    proxy.on(operation, 1, Fault::FreezeAfterAnswer);
    let mut child = stackd(&["apply", dir, "--stack", &stack, "--auto-approve"])
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn stackd");
    let frozen = proxy.wait_frozen(Duration::from_secs(60));
    child.kill().expect("SIGKILL stackd");
    let _ = child.wait();
    proxy.release();
    assert!(frozen, "stackd never called {operation}: {:?}", proxy.log());
    if state_in_s3 {
        // The killed run's lock is left in S3.
        run_ok(&["force-unlock", dir], 0);
    }

    let (s3, ecs) = (s3().await, ecs().await);
    if then == "destroy" {
        // Whatever the killed run made is the stack's: destroy removes it.
        run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
        assert!(
            bucket_tags(&s3, &format!("{name}-assets")).await.is_none(),
            "destroy left the bucket behind"
        );
        assert!(
            active_revisions(&ecs, &format!("{name}-app"))
                .await
                .is_empty(),
            "destroy left a task definition revision ACTIVE"
        );
        return;
    }
    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    check_one_of_each_then_destroy(dir, &stack, &name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_right_after_create_bucket_is_recovered_by_the_next_apply() {
    killed_right_after("CreateBucket", "apply").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_right_after_create_bucket_is_cleaned_up_by_destroy() {
    killed_right_after("CreateBucket", "destroy").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_right_after_register_task_definition_is_recovered_by_the_next_apply() {
    killed_right_after("RegisterTaskDefinition", "apply").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_right_after_register_task_definition_is_cleaned_up_by_destroy() {
    killed_right_after("RegisterTaskDefinition", "destroy").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_state_in_s3_a_kill_right_after_create_bucket_is_recovered_by_the_next_apply() {
    killed_right_after_with_state("CreateBucket", "apply", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_state_in_s3_a_kill_right_after_register_task_definition_is_recovered_by_the_next_apply(
) {
    killed_right_after_with_state("RegisterTaskDefinition", "apply", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_state_in_s3_a_kill_right_after_register_task_definition_is_cleaned_up_by_destroy() {
    killed_right_after_with_state("RegisterTaskDefinition", "destroy", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_with_a_lost_detach_answer_ends_promptly() {
    require_localstack();
    let ec2 = ec2().await;
    let spec = copy_spec(&root().join("specs/network"));
    let dir = spec.path().to_str().expect("utf-8");
    let stack = unique_stack("lost-detach");
    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    let proxy = FaultProxy::start(&endpoint());
    proxy.on("DetachInternetGateway", 1, Fault::LoseAnswer);
    let started = Instant::now();
    let out = via(
        &proxy,
        &["destroy", dir, "--stack", &stack, "--auto-approve"],
    );
    let took = started.elapsed();
    assert_eq!(proxy.fired(), ["DetachInternetGateway#1"]);
    assert!(took < Duration::from_secs(60), "destroy took {took:?}");
    assert_eq!(out.status.code(), Some(0));
    assert!(tagged_resources(&ec2, &stack).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_answer_to_add_role_to_instance_profile_leaves_the_role_once() {
    require_localstack();
    let stack = unique_stack("lost-addrole");
    let name = stack.to_lowercase();
    let spec = copy_spec(&root().join("tests/fixtures/profile"));
    std::fs::write(
        spec.path().join("terraform.tfvars"),
        format!("name = \"{name}\"\n"),
    )
    .expect("tfvars");
    let dir = spec.path().to_str().expect("utf-8");
    let proxy = FaultProxy::start(&endpoint());
    proxy.on("AddRoleToInstanceProfile", 1, Fault::LoseAnswer);
    let out = via(&proxy, &["apply", dir, "--stack", &stack, "--auto-approve"]);
    assert_eq!(
        proxy.fired(),
        ["AddRoleToInstanceProfile#1".to_string()],
        "{:?}",
        proxy.log()
    );
    assert_eq!(out.status.code(), Some(0));
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let profile = iam
        .get_instance_profile()
        .instance_profile_name(format!("{name}-app"))
        .send()
        .await
        .expect("GetInstanceProfile");
    let roles: Vec<String> = profile
        .instance_profile()
        .map(|p| {
            p.roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(roles, [format!("{name}-app")], "the role, once");
    run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);
    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert!(iam
        .get_instance_profile()
        .instance_profile_name(format!("{name}-app"))
        .send()
        .await
        .is_err());
}
