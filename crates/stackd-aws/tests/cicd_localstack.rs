//! Round trip of the CI/CD and bastion resource types against a real AWS
//! API (LocalStack in practice): `aws_codebuild_project`,
//! `aws_codepipeline`, `aws_key_pair`, `aws_instance`, and `aws_eip`
//! associated with the instance. It talks to `STACKD_TEST_ENDPOINT`
//! (default `http://127.0.0.1:4566`, where `localstack/start.sh` runs
//! LocalStack) and fails, saying how to start it, when nothing answers.
//!
//! For each type: create, refresh, check the engine's diff against what was
//! desired is empty, update something updatable, refresh and diff again,
//! delete, and check a refresh finds nothing. The IAM roles CodeBuild and
//! CodePipeline need are made with the IAM client directly, so this test
//! does not depend on the IAM resource types.
//!
//! Emulator behaviour it allows for: moto's CodeBuild requires `location` for
//! `CODEPIPELINE` sources and artifacts (real AWS ignores it; the spec sets
//! one) and has no UpdateProject (the update must then fail permanently,
//! not be retried); moto's CodePipeline wants the role's trust policy to
//! name its service as a single string; moto ignores RunInstances'
//! `ClientToken`, so instance create idempotency is not checked here.

use crate::support;

use crate::support::use_localstack;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stackd_aws::{AwsProvider, AwsSettings};
use stackd_engine::diff::{diff, IgnoreChanges};
use stackd_engine::provider::{
    ChangeRequest, DataRequest, DeleteRequest, ErrorKind, KnownResource, Provider, RefreshRequest,
    ADDRESS_TAG, STACK_ID_TAG, STACK_TAG,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{Address, Mode, Value};

const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEM411l1mlo0n/TUsqjQ8hCyTkYD1OxsJck9WDShS/3w admin@stackd-test";

struct Harness {
    provider: AwsProvider,
    stack: String,
    /// Created resources in creation order: (address, id, attrs).
    created: Vec<(Address, String, Value)>,
    /// The desired arguments last applied, by address.
    desired: BTreeMap<String, Value>,
}

impl Harness {
    /// Desired arguments in schema shape, as the spec evaluator builds them:
    /// every argument present with its default or null, unwritten blocks
    /// empty (null when computed when absent), and `tags_all` with the
    /// ownership tags.
    fn desired(&self, addr: &Address, args: &[(&str, Value)]) -> Value {
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, &addr.block.type_name)
            .expect("known type");
        let mut m: BTreeMap<String, Value> = BTreeMap::new();
        for a in schema.body.attrs.iter().filter(|a| a.is_argument()) {
            m.insert(a.name.to_string(), a.default.clone().unwrap_or(Value::Null));
        }
        for b in &schema.body.blocks {
            let empty = if b.computed_when_absent {
                Value::Null
            } else {
                Value::List(Vec::new())
            };
            m.insert(b.name.to_string(), empty);
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
            tags.insert(STACK_TAG.into(), Value::from(self.stack.as_str()));
            tags.insert(
                STACK_ID_TAG.into(),
                Value::from(support::owner(&self.stack).id.as_str()),
            );
            tags.insert(ADDRESS_TAG.into(), Value::from(addr.to_tag_value()));
            m.insert("tags_all".into(), Value::Map(tags));
        }
        Value::Map(m)
    }

    fn change_request(&self, addr: &str, args: &[(&str, Value)]) -> ChangeRequest {
        let address: Address = addr.parse().unwrap();
        ChangeRequest {
            type_name: address.block.type_name.clone(),
            owner: support::owner(&self.stack),
            desired: self.desired(&address, args),
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
        let req = self.change_request(addr, args);
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
        println!("created {addr} = {id}\n  {attrs}");
        self.assert_no_diff(&req.address, &req.desired, &attrs, "create's answer");
        self.desired.insert(addr.to_string(), req.desired.clone());
        self.created.push((req.address, id.clone(), attrs.clone()));
        (id, attrs)
    }

    /// Updates `addr` to `args`; the changed names are what the engine's
    /// diff reports. An error is returned (not a panic) so emulator gaps
    /// can be checked by the caller.
    async fn update(
        &mut self,
        addr: &str,
        args: &[(&str, Value)],
    ) -> Result<Value, stackd_engine::provider::ProviderError> {
        let address: Address = addr.parse().unwrap();
        let slot = self
            .created
            .iter()
            .position(|(a, _, _)| *a == address)
            .expect("created");
        let (_, id, prior) = self.created[slot].clone();
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, &address.block.type_name)
            .unwrap()
            .clone();
        let mut req = self.change_request(addr, args);
        let changes = diff(&schema, &req.desired, &prior, &IgnoreChanges::default());
        assert!(!changes.is_empty(), "{addr}: the update changes nothing");
        assert!(
            changes.iter().all(|c| !c.forces_replacement),
            "{addr}: the update forces replacement: {changes:?}"
        );
        req.changed = changes.iter().map(|c| c.name.clone()).collect();
        req.prior = Some(prior);
        req.id = Some(id);
        req.idempotency_token = String::new();
        let attrs = self.provider.update(&req).await?;
        println!("updated {addr} ({:?})\n  {attrs}", req.changed);
        self.assert_no_diff(&address, &req.desired, &attrs, "update's answer");
        self.desired.insert(addr.to_string(), req.desired.clone());
        let id = attrs
            .get("id")
            .and_then(Value::as_str)
            .expect("id")
            .to_string();
        self.created[slot] = (address, id, attrs.clone());
        Ok(attrs)
    }

    /// The engine's diff of `live` against `desired` is empty, and every
    /// schema attribute and block is present in `live`.
    fn assert_no_diff(&self, address: &Address, desired: &Value, live: &Value, what: &str) {
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, &address.block.type_name)
            .unwrap();
        for a in &schema.body.attrs {
            if a.name != "tags" {
                assert!(
                    live.get(a.name).is_some(),
                    "{address}: {} missing from {what}",
                    a.name
                );
            }
        }
        for b in &schema.body.blocks {
            assert!(
                live.get(b.name).is_some(),
                "{address}: block {} missing from {what}",
                b.name
            );
            if b.nesting == Nesting::Single {
                let n = live
                    .get(b.name)
                    .and_then(Value::as_list)
                    .map_or(0, <[_]>::len);
                assert!(n <= 1, "{address}: {} has {n} items", b.name);
            }
        }
        let changes = diff(schema, desired, live, &IgnoreChanges::default());
        assert!(
            changes.is_empty(),
            "{address}: {what} differs from the spec: {changes:#?}"
        );
    }

    /// Refreshes one type (known instances only, then by tag alone) and
    /// checks each live object diffs to nothing against its spec.
    async fn refresh_and_compare(&self, type_name: &str) {
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
        let live = self.refresh(type_name, known.clone()).await;
        assert_eq!(live.len(), known.len(), "{type_name}: {live:?}");
        for k in &known {
            let l = live
                .iter()
                .find(|l| l.id == k.id)
                .unwrap_or_else(|| panic!("{} not live", k.id));
            assert_eq!(l.address.as_ref(), Some(&k.address));
            let desired = &self.desired[&k.address.to_string()];
            self.assert_no_diff(&k.address, desired, &l.attrs, "the refresh");
        }
        // Found by the stack tag alone (as after a crash before the state write).
        let by_tag = self.refresh(type_name, Vec::new()).await;
        for k in &known {
            let l = by_tag
                .iter()
                .find(|l| l.id == k.id)
                .unwrap_or_else(|| panic!("{} not found by its tag", k.id));
            assert_eq!(l.address.as_ref(), Some(&k.address));
        }
    }

    async fn refresh(
        &self,
        type_name: &str,
        known: Vec<KnownResource>,
    ) -> Vec<stackd_engine::provider::LiveResource> {
        self.provider
            .refresh(&RefreshRequest {
                type_name: type_name.to_string(),
                owner: support::owner(&self.stack),
                known,
            })
            .await
            .unwrap_or_else(|e| panic!("refresh {type_name}: {e}"))
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
            // Deleting what is gone already is success.
            self.provider
                .delete(&req)
                .await
                .unwrap_or_else(|e| panic!("second delete of {address}: {e}"));
            println!("deleted {address} ({id})");
            let left = self
                .refresh(
                    &address.block.type_name,
                    vec![KnownResource {
                        address: address.clone(),
                        id: id.clone(),
                        attrs: prior,
                    }],
                )
                .await;
            assert!(
                left.iter().all(|l| l.id != id),
                "{address} still found after delete: {left:?}"
            );
        }
    }
}

fn v(s: &str) -> Value {
    Value::from(s)
}

fn n(x: i64) -> Value {
    Value::from(x)
}

fn block(pairs: &[(&str, Value)]) -> Value {
    Value::List(vec![Value::map(pairs.iter().cloned())])
}

fn env_var(name: &str, value: &str) -> Value {
    Value::map([
        ("name", v(name)),
        ("value", v(value)),
        ("type", v("PLAINTEXT")),
    ])
}

fn action(
    name: &str,
    category: &str,
    provider: &str,
    config: &[(&str, &str)],
    inputs: &[&str],
    outputs: &[&str],
) -> Value {
    let list = |xs: &[&str]| {
        if xs.is_empty() {
            Value::Null
        } else {
            Value::from(xs.to_vec())
        }
    };
    Value::map([
        ("name", v(name)),
        ("category", v(category)),
        ("owner", v("AWS")),
        ("provider", v(provider)),
        ("version", v("1")),
        (
            "configuration",
            Value::map(config.iter().map(|(k, x)| (*k, v(x)))),
        ),
        ("input_artifacts", list(inputs)),
        ("output_artifacts", list(outputs)),
    ])
}

fn stage(name: &str, action: Value) -> Value {
    Value::map([("name", v(name)), ("action", Value::List(vec![action]))])
}

/// Makes a role the service can assume, with the IAM client directly. The
/// principal is a single string: moto's CodePipeline accepts no other form.
async fn make_role(iam: &aws_sdk_iam::Client, name: &str, service: &str) -> String {
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let out = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create role {name}: {e:?}"));
    out.role().map(|r| r.arn().to_string()).expect("role arn")
}

#[tokio::test]
async fn cicd_and_bastion_round_trip() {
    use_localstack();
    let provider = AwsProvider::connect(AwsSettings::default())
        .await
        .expect("connect");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let suffix = format!("{}", nanos % 1_000_000_000_000);
    let mut h = Harness {
        provider,
        stack: format!("cicd-{suffix}"),
        created: Vec::new(),
        desired: BTreeMap::new(),
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let build_role = make_role(&iam, &format!("cb-{suffix}"), "codebuild.amazonaws.com").await;
    let pipeline_role =
        make_role(&iam, &format!("cp-{suffix}"), "codepipeline.amazonaws.com").await;
    let profile = format!("bastion-{suffix}");
    iam.create_instance_profile()
        .instance_profile_name(&profile)
        .send()
        .await
        .expect("create instance profile");

    // ----- aws_codebuild_project -----
    let project_name = format!("app-build-{suffix}");
    let environment = |image: &str, privileged: bool| {
        block(&[
            ("compute_type", v("BUILD_GENERAL1_SMALL")),
            ("image", v(image)),
            ("type", v("ARM_CONTAINER")),
            ("certificate", Value::Null),
            ("image_pull_credentials_type", v("CODEBUILD")),
            ("privileged_mode", Value::Bool(privileged)),
            (
                "environment_variable",
                Value::List(vec![
                    env_var("IMAGE_REPO_NAME", "app"),
                    env_var("IMAGE_TAG", "latest"),
                ]),
            ),
            ("registry_credential", Value::List(vec![])),
        ])
    };
    let project_args = |timeout: i64| {
        vec![
            ("name", v(&project_name)),
            ("description", v("builds the app image")),
            ("service_role", v(&build_role)),
            ("build_timeout", n(timeout)),
            (
                "environment",
                environment("aws/codebuild/amazonlinux2-aarch64-standard:3.0", true),
            ),
            // moto requires a location even for CODEPIPELINE; AWS ignores it.
            (
                "source",
                block(&[
                    ("type", v("CODEPIPELINE")),
                    ("location", v("codepipeline")),
                    ("buildspec", v("buildspec.yml")),
                ]),
            ),
            (
                "artifacts",
                block(&[("type", v("CODEPIPELINE")), ("location", v("codepipeline"))]),
            ),
            (
                "logs_config",
                block(&[(
                    "cloudwatch_logs",
                    block(&[
                        ("status", v("ENABLED")),
                        ("group_name", v("/codebuild/app")),
                    ]),
                )]),
            ),
            ("tags", Value::map([("Name", v("app-build"))])),
        ]
    };
    let (project_id, project) = h
        .create("aws_codebuild_project.app", &project_args(60))
        .await;
    assert!(project_id.starts_with("arn:"), "{project_id}");
    assert_eq!(project.get("arn"), Some(&v(&project_id)));
    h.refresh_and_compare("aws_codebuild_project").await;
    // Creating again (a retry after a crash) adopts the project.
    let again = h
        .provider
        .create(&h.change_request("aws_codebuild_project.app", &project_args(60)))
        .await
        .expect("adopting the project");
    assert_eq!(again.get("id"), Some(&v(&project_id)));
    // Another address may not take it over.
    let conflict = h
        .provider
        .create(&h.change_request("aws_codebuild_project.other", &project_args(60)))
        .await
        .expect_err("a name taken by another address");
    assert_eq!(conflict.kind, ErrorKind::Permanent);
    match h
        .update("aws_codebuild_project.app", &project_args(30))
        .await
    {
        Ok(attrs) => assert_eq!(attrs.get("build_timeout"), Some(&n(30))),
        Err(e) => {
            // moto has no UpdateProject: it must fail at once, not be retried.
            assert_eq!(e.kind, ErrorKind::Permanent, "{e}");
            assert!(e.message.contains("not been implemented"), "{e}");
            println!("UpdateProject is not implemented by this endpoint: {e}");
        }
    }
    h.refresh_and_compare("aws_codebuild_project").await;

    // ----- aws_codepipeline -----
    let pipeline_name = format!("app-{suffix}");
    let pipeline_args = |branch: &str, tags: Value| {
        vec![
            ("name", v(&pipeline_name)),
            ("role_arn", v(&pipeline_role)),
            (
                "artifact_store",
                block(&[
                    ("location", v(&format!("artifacts-{suffix}"))),
                    ("type", v("S3")),
                ]),
            ),
            (
                "stage",
                Value::List(vec![
                    stage(
                        "Source",
                        action(
                            "Source",
                            "Source",
                            "CodeStarSourceConnection",
                            &[
                                (
                                    "ConnectionArn",
                                    "arn:aws:codestar-connections:us-east-1:000000000000:connection/x",
                                ),
                                ("FullRepositoryId", "me/app"),
                                ("BranchName", branch),
                                ("OutputArtifactFormat", "CODE_ZIP"),
                            ],
                            &[],
                            &["source_output"],
                        ),
                    ),
                    stage(
                        "Build",
                        action(
                            "Build",
                            "Build",
                            "CodeBuild",
                            &[("ProjectName", &project_name)],
                            &["source_output"],
                            &["build_output"],
                        ),
                    ),
                    stage(
                        "Deploy",
                        action(
                            "Deploy",
                            "Deploy",
                            "ECS",
                            &[
                                ("ClusterName", "main"),
                                ("ServiceName", "app"),
                                ("FileName", "imagedefinitions.json"),
                            ],
                            &["build_output"],
                            &[],
                        ),
                    ),
                ]),
            ),
            ("tags", tags),
        ]
    };
    let (pipeline_id, pipeline) = h
        .create(
            "aws_codepipeline.app",
            &pipeline_args("main", Value::map([("Name", v("app"))])),
        )
        .await;
    assert_eq!(pipeline_id, pipeline_name);
    assert!(pipeline
        .get("arn")
        .and_then(Value::as_str)
        .is_some_and(|a| a.ends_with(&pipeline_name)));
    h.refresh_and_compare("aws_codepipeline").await;
    let again = h
        .provider
        .create(&h.change_request(
            "aws_codepipeline.app",
            &pipeline_args("main", Value::map([("Name", v("app"))])),
        ))
        .await
        .expect("adopting the pipeline");
    assert_eq!(again.get("id"), Some(&v(&pipeline_id)));
    h.update(
        "aws_codepipeline.app",
        &pipeline_args("release", Value::map([("Team", v("web"))])),
    )
    .await
    .expect("update pipeline");
    h.refresh_and_compare("aws_codepipeline").await;

    // ----- the bastion: key pair, instance, EIP -----
    let zones = h
        .provider
        .read_data(&DataRequest {
            address: "data.aws_availability_zones.all".parse().unwrap(),
            type_name: "aws_availability_zones".into(),
            args: Value::map([("state", v("available"))]),
        })
        .await
        .expect("zones");
    let az = zones
        .get("names")
        .and_then(Value::as_list)
        .and_then(|l| l.first())
        .cloned()
        .expect("a zone");
    let ami = h
        .provider
        .read_data(&DataRequest {
            address: "data.aws_ami.amazon_linux".parse().unwrap(),
            type_name: "aws_ami".into(),
            args: Value::map([
                ("most_recent", Value::Bool(true)),
                ("owners", Value::from(vec!["amazon"])),
            ]),
        })
        .await
        .expect("an AMI");
    let ami_id = ami
        .get("id")
        .and_then(Value::as_str)
        .expect("ami id")
        .to_string();

    let (key_name, key) = h
        .create(
            "aws_key_pair.bastion",
            &[
                ("key_name_prefix", v("bastion-")),
                ("public_key", v(PUBLIC_KEY)),
            ],
        )
        .await;
    assert!(key_name.starts_with("bastion-"), "{key_name}");
    assert!(key.get("fingerprint").and_then(Value::as_str).is_some());
    h.refresh_and_compare("aws_key_pair").await;
    // A retry after a crash asks for the same generated name and adopts it.
    let again = h
        .provider
        .create(&h.change_request(
            "aws_key_pair.bastion",
            &[
                ("key_name_prefix", v("bastion-")),
                ("public_key", v(PUBLIC_KEY)),
            ],
        ))
        .await
        .expect("adopting the key pair");
    assert_eq!(again.get("id"), Some(&v(&key_name)));
    h.update(
        "aws_key_pair.bastion",
        &[
            ("key_name_prefix", v("bastion-")),
            ("public_key", v(PUBLIC_KEY)),
            ("tags", Value::map([("Role", v("bastion"))])),
        ],
    )
    .await
    .expect("update key pair tags");
    h.refresh_and_compare("aws_key_pair").await;

    let (vpc, _) = h
        .create(
            "aws_vpc.main",
            &[
                ("cidr_block", v("10.77.0.0/16")),
                ("enable_dns_hostnames", Value::Bool(true)),
            ],
        )
        .await;
    let (subnet, _) = h
        .create(
            "aws_subnet.public",
            &[
                ("vpc_id", v(&vpc)),
                ("cidr_block", v("10.77.1.0/24")),
                ("availability_zone", az),
                ("map_public_ip_on_launch", Value::Bool(true)),
            ],
        )
        .await;
    let (bastion_sg, _) = h
        .create(
            "aws_security_group.bastion",
            &[
                ("name", v(&format!("bastion-{suffix}"))),
                ("vpc_id", v(&vpc)),
            ],
        )
        .await;
    let (other_sg, _) = h
        .create(
            "aws_security_group.extra",
            &[("name", v(&format!("extra-{suffix}"))), ("vpc_id", v(&vpc))],
        )
        .await;

    let instance_args =
        |instance_type: &str, groups: Vec<&str>, profile: Value, size: i64, tags: Value| {
            vec![
                ("ami", v(&ami_id)),
                ("instance_type", v(instance_type)),
                ("subnet_id", v(&subnet)),
                ("vpc_security_group_ids", Value::from(groups)),
                ("key_name", v(&key_name)),
                ("associate_public_ip_address", Value::Bool(true)),
                ("user_data", v("#!/bin/bash\necho hello > /tmp/hello\n")),
                ("iam_instance_profile", profile),
                (
                    "root_block_device",
                    block(&[
                        ("volume_size", n(size)),
                        ("volume_type", v("gp3")),
                        ("delete_on_termination", Value::Bool(true)),
                    ]),
                ),
                ("tags", tags),
            ]
        };
    let (instance_id, instance) = h
        .create(
            "aws_instance.bastion",
            &instance_args(
                "t3.micro",
                vec![bastion_sg.as_str()],
                Value::Null,
                10,
                Value::map([("Name", v("bastion"))]),
            ),
        )
        .await;
    assert_eq!(instance.get("instance_state"), Some(&v("running")));
    assert!(instance
        .get("user_data")
        .and_then(Value::as_str)
        .is_some_and(|h| h.len() == 40));
    h.refresh_and_compare("aws_instance").await;
    // Creating again with the same token returns the same instance on AWS
    // (ClientToken); emulators may ignore the token, so it is not checked here.
    h.update(
        "aws_instance.bastion",
        &instance_args(
            "t3.small",
            vec![bastion_sg.as_str(), other_sg.as_str()],
            v(&profile),
            12,
            Value::map([("Name", v("bastion")), ("Role", v("ssh"))]),
        ),
    )
    .await
    .expect("update instance");
    h.refresh_and_compare("aws_instance").await;

    let (eip, eip_attrs) = h
        .create(
            "aws_eip.bastion",
            &[("domain", v("vpc")), ("instance", v(&instance_id))],
        )
        .await;
    assert_eq!(eip_attrs.get("instance"), Some(&v(&instance_id)));
    h.refresh_and_compare("aws_eip").await;
    // The EIP replaces the launch address; the instance still diffs clean.
    h.refresh_and_compare("aws_instance").await;
    println!(
        "bastion reachable at {:?} ({eip})",
        eip_attrs.get("public_ip")
    );

    println!("--- delete");
    h.delete_all().await;
    for t in [
        "aws_codebuild_project",
        "aws_codepipeline",
        "aws_key_pair",
        "aws_instance",
        "aws_eip",
    ] {
        let left = h.refresh(t, Vec::new()).await;
        assert!(left.is_empty(), "{t} left: {left:?}");
    }
    let _ = iam
        .delete_instance_profile()
        .instance_profile_name(&profile)
        .send()
        .await;
    for role in [format!("cb-{suffix}"), format!("cp-{suffix}")] {
        let _ = iam.delete_role().role_name(role).send().await;
    }
}
