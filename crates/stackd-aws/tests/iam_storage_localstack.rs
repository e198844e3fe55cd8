//! Round trip of the IAM, storage, logs, image and parameter types against
//! a real AWS API (LocalStack in practice). It talks to
//! `STACKD_TEST_ENDPOINT` (default `http://127.0.0.1:4566`, where
//! `localstack/start.sh` runs LocalStack) and fails, saying how to start it,
//! when nothing answers there.
//!
//! For every type: create, refresh, and check that the engine's diff of the
//! spec against what the refresh read is empty; update something
//! updatable and check again; then delete everything and check that a
//! refresh finds nothing. It also checks that a create repeated after a
//! "crash" adopts what the first attempt made, and that a name taken by
//! another stack is refused.

use crate::support;

use crate::support::{desired_args, use_localstack};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stackd_aws::{AwsProvider, AwsSettings};
use stackd_engine::diff::{diff, IgnoreChanges};
use stackd_engine::provider::{
    ChangeRequest, DataRequest, DeleteRequest, ErrorKind, KnownResource, LiveResource, Provider,
    RefreshRequest,
};
use stackd_spec::{Address, Mode, Value};

struct Harness {
    provider: AwsProvider,
    stack: String,
    /// Created resources in creation order: (address, id, attrs).
    created: Vec<(Address, String, Value)>,
    /// The desired arguments last applied, by address.
    desired: BTreeMap<String, Value>,
    /// Every (type, id) deleted, to check that refreshes no longer find them.
    deleted: Vec<(Address, String, Value)>,
}

fn v(s: &str) -> Value {
    Value::from(s)
}

fn n(x: i64) -> Value {
    Value::from(x)
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

fn block(pairs: Vec<(&str, Value)>) -> Value {
    Value::List(vec![Value::map(pairs)])
}

impl Harness {
    fn request(&self, addr: &str, args: &[(&str, Value)]) -> ChangeRequest {
        let address: Address = addr.parse().unwrap();
        ChangeRequest {
            type_name: address.block.type_name.clone(),
            owner: support::owner(&self.stack),
            desired: desired_args(&self.provider, &self.stack, &address, args),
            prior: None,
            id: None,
            changed: Vec::new(),
            timeout: Duration::from_secs(120),
            idempotency_token: format!("{}-{addr}", self.stack),
            pending_since: None,
            address,
        }
    }

    async fn create(&mut self, addr: &str, args: &[(&str, Value)]) -> (String, Value) {
        let req = self.request(addr, args);
        let attrs = self
            .provider
            .create(&req)
            .await
            .unwrap_or_else(|e| panic!("create {addr}: {e}"));
        let id = attrs
            .get("id")
            .and_then(Value::as_str)
            .expect("id")
            .to_string();
        println!("created {addr} = {id}");
        self.desired.insert(addr.to_string(), req.desired.clone());
        self.created
            .push((req.address.clone(), id.clone(), attrs.clone()));
        (id, attrs)
    }

    /// Updates with the arguments; `changed` is what the engine's diff of
    /// the new spec against the last live attributes reports.
    async fn update(&mut self, addr: &str, args: &[(&str, Value)]) -> Value {
        let address: Address = addr.parse().unwrap();
        let slot = self
            .created
            .iter()
            .position(|(a, _, _)| *a == address)
            .expect("created");
        let (_, id, prior) = self.created[slot].clone();
        let desired = desired_args(&self.provider, &self.stack, &address, args);
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, &address.block.type_name)
            .unwrap();
        let changes = diff(schema, &desired, &prior, &IgnoreChanges::default());
        assert!(!changes.is_empty(), "{addr}: the update changes nothing");
        assert!(
            changes.iter().all(|c| !c.forces_replacement),
            "{addr}: the update would replace: {changes:?}"
        );
        let req = ChangeRequest {
            type_name: address.block.type_name.clone(),
            owner: support::owner(&self.stack),
            desired,
            prior: Some(prior),
            id: Some(id),
            changed: changes.iter().map(|c| c.name.clone()).collect(),
            timeout: Duration::from_secs(120),
            idempotency_token: String::new(),
            pending_since: None,
            address: address.clone(),
        };
        let attrs = self
            .provider
            .update(&req)
            .await
            .unwrap_or_else(|e| panic!("update {addr}: {e}"));
        println!("updated {addr} ({:?})", req.changed);
        self.desired.insert(addr.to_string(), req.desired.clone());
        let id = attrs
            .get("id")
            .and_then(Value::as_str)
            .expect("id")
            .to_string();
        self.created[slot] = (address, id, attrs.clone());
        attrs
    }

    async fn refresh(&self, type_name: &str, known: Vec<KnownResource>) -> Vec<LiveResource> {
        self.provider
            .refresh(&RefreshRequest {
                type_name: type_name.to_string(),
                owner: support::owner(&self.stack),
                known,
            })
            .await
            .unwrap_or_else(|e| panic!("refresh {type_name}: {e}"))
    }

    /// Refreshes every created instance of `type_name` in one request and
    /// checks each reads back as no change against the spec that made it.
    async fn assert_no_diff(&self, type_name: &str) {
        let known: Vec<KnownResource> = self
            .created
            .iter()
            .filter(|(a, _, _)| a.block.type_name == type_name)
            .map(|(a, id, attrs)| KnownResource {
                address: a.clone(),
                id: id.clone(),
                attrs: attrs.clone(),
            })
            .collect();
        assert!(!known.is_empty(), "nothing of type {type_name} was created");
        let live = self.refresh(type_name, known.clone()).await;
        assert_eq!(live.len(), known.len(), "{type_name}: {live:?}");
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, type_name)
            .unwrap();
        for k in &known {
            let l = live
                .iter()
                .find(|l| l.id == k.id)
                .unwrap_or_else(|| panic!("{} not live", k.id));
            assert_eq!(l.address.as_ref(), Some(&k.address));
            for a in schema.body.attrs.iter().filter(|a| a.name != "tags") {
                assert!(
                    l.attrs.get(a.name).is_some(),
                    "{}: {} missing from live attributes",
                    k.address,
                    a.name
                );
            }
            let desired = &self.desired[&k.address.to_string()];
            let changes = diff(schema, desired, &l.attrs, &IgnoreChanges::default());
            assert!(
                changes.is_empty(),
                "{}: a refresh right after apply differs from the spec: {changes:#?}\nlive: {}",
                k.address,
                l.attrs
            );
        }
        println!(
            "{type_name}: {} instance(s) read back with no diff",
            known.len()
        );
    }

    /// A create repeated after a crash (same token, same stack) adopts what
    /// the first attempt made; the same name asked for by another stack is
    /// refused with a permanent error naming the conflict.
    async fn assert_create_is_idempotent(&self, addr: &str, args: &[(&str, Value)]) {
        let (_, id, attrs) = self
            .created
            .iter()
            .find(|(a, _, _)| a.to_string() == addr)
            .expect("created")
            .clone();
        let again = self
            .provider
            .create(&self.request(addr, args))
            .await
            .unwrap_or_else(|e| panic!("{addr}: a repeated create must adopt: {e}"));
        assert_eq!(again.get("id").and_then(Value::as_str), Some(id.as_str()));
        assert_eq!(again.get("arn"), attrs.get("arn"));
        let mut theirs = self.request(addr, args);
        theirs.owner = support::owner("someone-else");
        theirs.desired = desired_args(&self.provider, "someone-else", &theirs.address, args);
        let err = self
            .provider
            .create(&theirs)
            .await
            .expect_err("the name belongs to another stack");
        assert_eq!(err.kind, ErrorKind::Permanent, "{addr}: {err}");
        // A copy of this spec elsewhere: the same stack name, another
        // identity. It must not adopt this stack's object either.
        let mut copy = self.request(addr, args);
        copy.owner = stackd_engine::provider::Owner::new(&self.stack, "another-identity");
        copy.desired = support::desired_args_for(&self.provider, &copy.owner, &copy.address, args);
        let err = self
            .provider
            .create(&copy)
            .await
            .expect_err("the name belongs to the other copy");
        assert_eq!(err.kind, ErrorKind::Permanent, "{addr}: {err}");
        assert!(
            err.message.contains("another stack identity"),
            "{addr}: {err}"
        );
        assert!(err.message.contains("already exists"), "{addr}: {err}");
        println!("{addr}: a repeated create adopts, another stack is refused");
    }

    async fn delete_all(&mut self) {
        while let Some((address, id, prior)) = self.created.pop() {
            let req = DeleteRequest {
                type_name: address.block.type_name.clone(),
                address: address.clone(),
                id: id.clone(),
                prior: prior.clone(),
                timeout: Duration::from_secs(120),
            };
            // The engine retries transient errors; so does this test.
            let mut attempt = 0;
            loop {
                match self.provider.delete(&req).await {
                    Ok(()) => break,
                    Err(e) if e.is_retryable() && attempt < 10 => {
                        attempt += 1;
                        println!("delete {address}: {e} (retrying)");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(e) => panic!("delete {address}: {e}"),
                }
            }
            println!("deleted {address} ({id})");
            self.deleted.push((address, id, prior));
        }
    }

    /// After the deletes, a refresh of each type finds none of its objects.
    async fn assert_all_gone(&self) {
        let mut types: Vec<&str> = self
            .deleted
            .iter()
            .map(|(a, _, _)| a.block.type_name.as_str())
            .collect();
        types.sort();
        types.dedup();
        for t in types {
            let known: Vec<KnownResource> = self
                .deleted
                .iter()
                .filter(|(a, _, _)| a.block.type_name == t)
                .map(|(a, id, attrs)| KnownResource {
                    address: a.clone(),
                    id: id.clone(),
                    attrs: attrs.clone(),
                })
                .collect();
            let live = self.refresh(t, known).await;
            // Versioning of a deleted bucket is gone with the bucket.
            assert!(live.is_empty(), "{t}: still live after delete: {live:?}");
        }
    }
}

async fn read_data(provider: &AwsProvider, addr: &str, args: Value) -> Value {
    let address: Address = addr.parse().unwrap();
    provider
        .read_data(&DataRequest {
            type_name: address.block.type_name.clone(),
            address,
            args,
        })
        .await
        .unwrap_or_else(|e| panic!("read {addr}: {e}"))
}

fn trust_policy(services: &[&str]) -> Value {
    let ids: Vec<Value> = services.iter().map(|s| v(s)).collect();
    Value::map([(
        "statement",
        list(vec![Value::map([
            ("actions", list(vec![v("sts:AssumeRole")])),
            (
                "principals",
                list(vec![Value::map([
                    ("type", v("Service")),
                    ("identifiers", list(ids)),
                ])]),
            ),
        ])]),
    )])
}

fn s3_policy(actions: &[&str]) -> String {
    let actions: Vec<String> = actions.iter().map(|a| format!("{a:?}")).collect();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}"#,
        actions.join(",")
    )
}

fn ecr_policy(count: i64) -> String {
    format!(
        r#"{{"rules":[{{"rulePriority":1,"description":"keep {count}","selection":{{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":{count}}},"action":{{"type":"expire"}}}}]}}"#
    )
}

#[tokio::test]
async fn iam_storage_logs_images_and_parameters_round_trip() {
    let endpoint = use_localstack();
    let provider = AwsProvider::connect(AwsSettings::default())
        .await
        .expect("connect");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let u = format!("{:x}", nanos % 0xffff_ffff_ffff);
    let mut h = Harness {
        provider,
        stack: format!("iamstore-{u}"),
        created: Vec::new(),
        desired: BTreeMap::new(),
        deleted: Vec::new(),
    };

    // ---- data sources
    let me = read_data(&h.provider, "data.aws_caller_identity.me", Value::Null).await;
    let account = me
        .get("account_id")
        .and_then(Value::as_str)
        .expect("account")
        .to_string();
    assert_eq!(me.get("id"), me.get("account_id"));
    let region = read_data(&h.provider, "data.aws_region.here", Value::Null).await;
    assert_eq!(region.get("name"), Some(&v("us-east-1")));
    assert_eq!(region.get("description"), Some(&v("US East (N. Virginia)")));
    let ami = read_data(
        &h.provider,
        "data.aws_ssm_parameter.al2023",
        Value::map([(
            "name",
            v("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"),
        )]),
    )
    .await;
    println!("public AMI parameter: {:?}", ami.get("value"));
    assert!(ami
        .get("value")
        .and_then(Value::as_str)
        .is_some_and(|a| a.starts_with("ami-")));
    let trust = read_data(
        &h.provider,
        "data.aws_iam_policy_document.trust",
        trust_policy(&["ecs-tasks.amazonaws.com"]),
    )
    .await;
    let trust_json = trust.get("json").cloned().expect("json");
    let trust2 = read_data(
        &h.provider,
        "data.aws_iam_policy_document.trust2",
        trust_policy(&["ecs-tasks.amazonaws.com", "codebuild.amazonaws.com"]),
    )
    .await;
    let trust2_json = trust2.get("json").cloned().expect("json");

    // ---- IAM
    let role_name = format!("stackd-it-{u}-exec");
    let role_args = vec![
        ("name", v(&role_name)),
        ("assume_role_policy", trust_json.clone()),
        ("description", v("task execution")),
        ("tags", Value::map([("Name", v("exec"))])),
    ];
    let (role, role_attrs) = h.create("aws_iam_role.exec", &role_args).await;
    assert_eq!(role, role_name);
    assert!(role_attrs
        .get("arn")
        .and_then(Value::as_str)
        .is_some_and(|a| a.ends_with(&role_name)));
    h.assert_no_diff("aws_iam_role").await;

    h.assert_create_is_idempotent("aws_iam_role.exec", &role_args)
        .await;

    h.update(
        "aws_iam_role.exec",
        &[
            ("name", v(&role_name)),
            ("assume_role_policy", trust2_json.clone()),
            ("description", v("task execution v2")),
            ("max_session_duration", n(7200)),
            (
                "tags",
                Value::map([("Name", v("exec")), ("Tier", v("app"))]),
            ),
        ],
    )
    .await;
    h.assert_no_diff("aws_iam_role").await;

    let policy_args = |actions: &[&str], tags: Value| {
        vec![
            ("name", v(&format!("stackd-it-{u}-read"))),
            ("description", v("read buckets")),
            ("policy", Value::from(s3_policy(actions))),
            ("tags", tags),
        ]
    };
    let (policy_arn, _) = h
        .create(
            "aws_iam_policy.read",
            &policy_args(&["s3:ListBucket"], Value::Null),
        )
        .await;
    h.assert_no_diff("aws_iam_policy").await;
    h.assert_create_is_idempotent(
        "aws_iam_policy.read",
        &policy_args(&["s3:ListBucket"], Value::Null),
    )
    .await;
    // Six updates: IAM keeps five versions, so old ones must be pruned.
    for i in 0..6 {
        let actions: Vec<String> = (0..=i).map(|k| format!("s3:Get{k}")).collect();
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        h.update(
            "aws_iam_policy.read",
            &policy_args(&actions, Value::map([("Version", v(&i.to_string()))])),
        )
        .await;
    }
    h.assert_no_diff("aws_iam_policy").await;

    h.create(
        "aws_iam_role_policy.logs",
        &[
            ("name", v("logs")),
            ("role", v(&role)),
            ("policy", Value::from(s3_policy(&["logs:CreateLogStream"]))),
        ],
    )
    .await;
    h.assert_no_diff("aws_iam_role_policy").await;
    h.update(
        "aws_iam_role_policy.logs",
        &[
            ("name", v("logs")),
            ("role", v(&role)),
            (
                "policy",
                Value::from(s3_policy(&["logs:CreateLogStream", "logs:PutLogEvents"])),
            ),
        ],
    )
    .await;
    h.assert_no_diff("aws_iam_role_policy").await;

    // Both arguments force replacement: nothing to update in place.
    let (attachment, _) = h
        .create(
            "aws_iam_role_policy_attachment.read",
            &[("role", v(&role)), ("policy_arn", v(&policy_arn))],
        )
        .await;
    assert_eq!(attachment, format!("{role}/{policy_arn}"));
    h.assert_no_diff("aws_iam_role_policy_attachment").await;

    let profile_args = [
        ("name", v(&format!("stackd-it-{u}-bastion"))),
        ("role", v(&role)),
    ];
    h.create("aws_iam_instance_profile.bastion", &profile_args)
        .await;
    h.assert_no_diff("aws_iam_instance_profile").await;
    h.assert_create_is_idempotent("aws_iam_instance_profile.bastion", &profile_args)
        .await;
    h.update(
        "aws_iam_instance_profile.bastion",
        &[
            ("name", v(&format!("stackd-it-{u}-bastion"))),
            ("role", v(&role)),
            ("tags", Value::map([("Name", v("bastion"))])),
        ],
    )
    .await;
    h.assert_no_diff("aws_iam_instance_profile").await;

    // ---- CloudWatch Logs
    for (addr, name) in [
        (
            "aws_cloudwatch_log_group.app[\"backend\"]",
            format!("/stackd-it/{u}/backend"),
        ),
        (
            "aws_cloudwatch_log_group.app[\"frontend\"]",
            format!("/stackd-it/{u}/frontend"),
        ),
    ] {
        let (_, attrs) = h
            .create(addr, &[("name", v(&name)), ("retention_in_days", n(7))])
            .await;
        assert!(attrs
            .get("arn")
            .and_then(Value::as_str)
            .is_some_and(|a| a.ends_with(&name)));
    }
    let (_, kept) = h
        .create(
            "aws_cloudwatch_log_group.kept",
            &[("name_prefix", v(&format!("/stackd-it/{u}/kept-")))],
        )
        .await;
    h.assert_no_diff("aws_cloudwatch_log_group").await;
    h.assert_create_is_idempotent(
        "aws_cloudwatch_log_group.app[\"frontend\"]",
        &[
            ("name", v(&format!("/stackd-it/{u}/frontend"))),
            ("retention_in_days", n(7)),
        ],
    )
    .await;
    let log_args = |days: i64| {
        vec![
            ("name", v(&format!("/stackd-it/{u}/backend"))),
            ("retention_in_days", n(days)),
            ("tags", Value::map([("Service", v("backend"))])),
        ]
    };
    h.update("aws_cloudwatch_log_group.app[\"backend\"]", &log_args(14))
        .await;
    h.update("aws_cloudwatch_log_group.app[\"backend\"]", &log_args(0))
        .await;
    h.assert_no_diff("aws_cloudwatch_log_group").await;
    assert!(kept
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.starts_with(&format!("/stackd-it/{u}/kept-"))));

    // ---- S3
    let bucket_name = format!("stackd-it-{u}-artifacts");
    let (bucket, bucket_attrs) = h
        .create(
            "aws_s3_bucket.artifacts",
            &[
                ("bucket", v(&bucket_name)),
                ("force_destroy", Value::Bool(true)),
            ],
        )
        .await;
    assert_eq!(bucket_attrs.get("region"), Some(&v("us-east-1")));
    assert_eq!(
        bucket_attrs.get("hosted_zone_id"),
        Some(&v("Z3AQBSTGFYJSTF"))
    );
    h.assert_no_diff("aws_s3_bucket").await;
    h.assert_create_is_idempotent(
        "aws_s3_bucket.artifacts",
        &[
            ("bucket", v(&bucket_name)),
            ("force_destroy", Value::Bool(true)),
        ],
    )
    .await;
    h.update(
        "aws_s3_bucket.artifacts",
        &[
            ("bucket", v(&bucket_name)),
            ("force_destroy", Value::Bool(true)),
            ("tags", Value::map([("Purpose", v("pipeline artifacts"))])),
        ],
    )
    .await;
    h.assert_no_diff("aws_s3_bucket").await;

    let versioning = |status: &str| {
        vec![
            ("bucket", v(&bucket)),
            (
                "versioning_configuration",
                block(vec![("status", v(status))]),
            ),
        ]
    };
    h.create("aws_s3_bucket_versioning.artifacts", &versioning("Enabled"))
        .await;
    h.assert_no_diff("aws_s3_bucket_versioning").await;

    let lifecycle = |days: i64| {
        vec![
            ("bucket", v(&bucket)),
            (
                "rule",
                list(vec![
                    Value::map([
                        ("id", v("expire-access-logs")),
                        ("status", v("Enabled")),
                        ("filter", block(vec![("prefix", v("access/"))])),
                        ("expiration", block(vec![("days", n(days))])),
                        (
                            "noncurrent_version_expiration",
                            block(vec![("noncurrent_days", n(7))]),
                        ),
                    ]),
                    Value::map([
                        ("id", v("uploads")),
                        ("status", v("Enabled")),
                        (
                            "abort_incomplete_multipart_upload",
                            block(vec![("days_after_initiation", n(3))]),
                        ),
                    ]),
                ]),
            ),
        ]
    };
    h.create(
        "aws_s3_bucket_lifecycle_configuration.artifacts",
        &lifecycle(30),
    )
    .await;
    h.assert_no_diff("aws_s3_bucket_lifecycle_configuration")
        .await;
    h.update(
        "aws_s3_bucket_lifecycle_configuration.artifacts",
        &lifecycle(60),
    )
    .await;
    h.assert_no_diff("aws_s3_bucket_lifecycle_configuration")
        .await;

    let pab = |policy: bool| {
        vec![
            ("bucket", v(&bucket)),
            ("block_public_acls", Value::Bool(true)),
            ("block_public_policy", Value::Bool(policy)),
            ("ignore_public_acls", Value::Bool(true)),
            ("restrict_public_buckets", Value::Bool(true)),
        ]
    };
    h.create("aws_s3_bucket_public_access_block.artifacts", &pab(true))
        .await;
    h.assert_no_diff("aws_s3_bucket_public_access_block").await;
    h.update("aws_s3_bucket_public_access_block.artifacts", &pab(false))
        .await;
    h.assert_no_diff("aws_s3_bucket_public_access_block").await;

    // Objects with several versions: force_destroy must remove them all.
    let s3 = {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .load()
            .await;
        aws_sdk_s3::Client::new(&config)
    };
    for body in ["one", "two"] {
        s3.put_object()
            .bucket(&bucket)
            .key("builds/app.zip")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(
                body.as_bytes(),
            ))
            .send()
            .await
            .expect("put object");
    }
    h.update(
        "aws_s3_bucket_versioning.artifacts",
        &versioning("Suspended"),
    )
    .await;
    h.assert_no_diff("aws_s3_bucket_versioning").await;

    // ---- ECR
    let repo_args = |mutability: &str, scan: bool, tags: Value| {
        vec![
            ("name", v(&format!("stackd-it-{u}/backend"))),
            ("image_tag_mutability", v(mutability)),
            ("force_delete", Value::Bool(true)),
            (
                "image_scanning_configuration",
                block(vec![("scan_on_push", Value::Bool(scan))]),
            ),
            ("tags", tags),
        ]
    };
    let (repo, repo_attrs) = h
        .create(
            "aws_ecr_repository.backend",
            &repo_args("MUTABLE", false, Value::Null),
        )
        .await;
    println!("repository_url = {:?}", repo_attrs.get("repository_url"));
    h.create(
        "aws_ecr_repository.frontend",
        &[("name", v(&format!("stackd-it-{u}/frontend")))],
    )
    .await;
    h.assert_no_diff("aws_ecr_repository").await;
    h.assert_create_is_idempotent(
        "aws_ecr_repository.backend",
        &repo_args("MUTABLE", false, Value::Null),
    )
    .await;
    h.update(
        "aws_ecr_repository.backend",
        &repo_args("IMMUTABLE", true, Value::map([("Service", v("backend"))])),
    )
    .await;
    h.assert_no_diff("aws_ecr_repository").await;

    h.create(
        "aws_ecr_lifecycle_policy.backend",
        &[
            ("repository", v(&repo)),
            ("policy", Value::from(ecr_policy(30))),
        ],
    )
    .await;
    h.assert_no_diff("aws_ecr_lifecycle_policy").await;
    h.update(
        "aws_ecr_lifecycle_policy.backend",
        &[
            ("repository", v(&repo)),
            ("policy", Value::from(ecr_policy(10))),
        ],
    )
    .await;
    h.assert_no_diff("aws_ecr_lifecycle_policy").await;

    // ---- SSM
    let secret_args = |value: &str, tags: Value| {
        vec![
            ("name", v(&format!("/stackd-it/{u}/db/password"))),
            ("type", v("SecureString")),
            ("value", v(value)),
            ("description", v("database password")),
            ("tags", tags),
        ]
    };
    h.create(
        "aws_ssm_parameter.db_password",
        &secret_args("hunter2", Value::Null),
    )
    .await;
    h.assert_create_is_idempotent(
        "aws_ssm_parameter.db_password",
        &secret_args("hunter2", Value::Null),
    )
    .await;
    h.create(
        "aws_ssm_parameter.vpc_id",
        &[
            ("name", v(&format!("/stackd-it/{u}/network/vpc_id"))),
            ("type", v("String")),
            ("insecure_value", v("vpc-123")),
        ],
    )
    .await;
    h.assert_no_diff("aws_ssm_parameter").await;
    let attrs = h
        .update(
            "aws_ssm_parameter.db_password",
            &secret_args("correct horse", Value::map([("Tier", v("db"))])),
        )
        .await;
    // Version 1 at create, 2 when the repeated create took it over, 3 now.
    assert_eq!(attrs.get("version"), Some(&n(3)));
    h.assert_no_diff("aws_ssm_parameter").await;

    println!("account {account}: everything created; deleting");
    h.delete_all().await;
    h.assert_all_gone().await;
}
