//! A system split in layers with `data.terraform_remote_state`, against
//! LocalStack: a network stack keeps its state in S3 (stackd's S3 backend),
//! an application stack reads its outputs from there and puts a security
//! group in its VPC; and an application on a network Terraform manages,
//! read from a Terraform (format version 4) state file with the local
//! backend. The cloud is checked with the SDK directly.

use crate::support::*;

/// The security groups carrying a stack's tag: (group ID, VPC ID).
async fn stack_security_groups(ec2: &aws_sdk_ec2::Client, stack: &str) -> Vec<(String, String)> {
    ec2.describe_security_groups()
        .filters(stack_filter(stack))
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()
        .iter()
        .map(|g| {
            (
                g.group_id().unwrap_or_default().to_string(),
                g.vpc_id().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A root output's value from a stackd state document.
fn output<'a>(state: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    &state["outputs"][name]["value"]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_layer_reads_the_network_layers_outputs_from_its_s3_state() {
    require_localstack();
    let net_stack = unique_stack("layers-net");
    let app_stack = unique_stack("layers-app");
    let bucket = format!("{net_stack}-state");
    let key = "layers/network/terraform.tfstate";
    let s3 = s3().await;
    create_bucket(&s3, &bucket).await;

    // Layer 1: the network, its state in the bucket (named in the spec's
    // backend block, which takes literals only).
    let net = copy_spec(&root().join("tests/fixtures/layers/network"));
    let net_main = net.path().join("main.tf");
    let text = std::fs::read_to_string(&net_main).expect("read network spec");
    std::fs::write(&net_main, text.replace("STATE_BUCKET", &bucket)).expect("write");
    let net_dir = net.path().to_str().expect("utf-8");
    run_ok(
        &["apply", net_dir, "--stack", &net_stack, "--auto-approve"],
        0,
    );
    let state: serde_json::Value =
        serde_json::from_slice(&get_object(&s3, &bucket, key).await.expect("network state"))
            .expect("state JSON");
    let vpc_id = output(&state, "vpc_id")
        .as_str()
        .expect("vpc_id")
        .to_string();
    let subnet_id = output(&state, "subnet_id")
        .as_str()
        .expect("subnet_id")
        .to_string();
    assert!(vpc_id.starts_with("vpc-"), "{vpc_id}");
    assert_eq!(stack_vpcs(&net_stack).await, 1);

    // Layer 2: the application, reading those outputs.
    let app = copy_spec(&root().join("tests/fixtures/layers/app"));
    let app_dir = app.path().to_str().expect("utf-8");
    let bucket_var = format!("state_bucket={bucket}");
    let app_args = |cmd: &'static str| -> Vec<String> {
        [cmd, app_dir, "--stack", &app_stack, "--var", &bucket_var]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let run_app = |cmd: &'static str, extra: &[&str], code: i32| {
        let mut args = app_args(cmd);
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ok(&args, code)
    };
    run_app("apply", &["--auto-approve"], 0);

    let ec2 = ec2().await;
    let groups = stack_security_groups(&ec2, &app_stack).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    let (group_id, group_vpc) = &groups[0];
    assert_eq!(
        group_vpc, &vpc_id,
        "the group is in the network layer's VPC"
    );
    let group = ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()
        .first()
        .cloned()
        .expect("the group");
    assert_eq!(
        group.description(),
        Some(format!("app in subnet {subnet_id}").as_str())
    );
    // The port came from `defaults` (the network has no such output), the
    // CIDR from the network's state.
    let rule = group.ip_permissions().first().expect("an ingress rule");
    assert_eq!(rule.from_port(), Some(8080));
    assert_eq!(
        rule.ip_ranges().first().and_then(|r| r.cidr_ip()),
        Some("10.83.0.0/16")
    );
    let app_state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(app.path().join("stackd.state.json")).expect("app state"),
    )
    .expect("state JSON");
    assert_eq!(output(&app_state, "vpc_id"), vpc_id.as_str());

    // Nothing left to do: the outputs read again are the same.
    run_app("diff", &["--detailed-exitcode"], 0);

    // A state that is not there is an error naming the data source and
    // where it looked.
    let wrong = format!("state_bucket={bucket}-missing");
    let out = run(&["diff", app_dir, "--stack", &app_stack, "--var", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("data.terraform_remote_state.net")
            && said.contains(&format!("s3://{bucket}-missing/{key}")),
        "{said}"
    );

    // Down in the opposite order.
    run_app("destroy", &["--auto-approve"], 0);
    assert!(stack_security_groups(&ec2, &app_stack).await.is_empty());
    run_ok(
        &["destroy", net_dir, "--stack", &net_stack, "--auto-approve"],
        0,
    );
    assert_eq!(stack_vpcs(&net_stack).await, 0);
    assert_eq!(stack_subnets(&net_stack).await, 0);
    assert!(tagged_resources(&ec2, &net_stack).await.is_empty());
    assert!(tagged_resources(&ec2, &app_stack).await.is_empty());
    delete_bucket(&s3, &bucket).await;
}

/// A Terraform state (format version 4) with the outputs of a network
/// Terraform made: a sensitive one and a list among them.
fn terraform_state(vpc_id: &str, subnet_id: &str) -> serde_json::Value {
    serde_json::json!({
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 12,
        "lineage": "5d7e0c1a-0000-4000-8000-00000000000a",
        "outputs": {
            "vpc_id": {"value": vpc_id, "type": "string"},
            "subnet_ids": {"value": [subnet_id], "type": ["list", "string"]},
            "db_password": {"value": "not-shown", "type": "string", "sensitive": true}
        },
        "resources": [
            {"mode": "managed", "type": "aws_vpc", "name": "main",
             "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 1,
                            "attributes": {"id": vpc_id, "cidr_block": "10.84.0.0/16"},
                            "sensitive_attributes": []}]}
        ],
        "check_results": null
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_layer_reads_a_terraform_state_file_with_the_local_backend() {
    require_localstack();
    let stack = unique_stack("layers-tf");
    let ec2 = ec2().await;
    // The network, as Terraform would have made it (not stackd's).
    let vpc_id = ec2
        .create_vpc()
        .cidr_block("10.84.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("VPC ID")
        .to_string();
    let subnet_id = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.84.1.0/24")
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet ID")
        .to_string();

    // layers/network/terraform.tfstate beside layers/app, which names it
    // by a relative path; stackd runs from elsewhere (the test's directory).
    let layers = tempfile::tempdir().expect("temp dir");
    let net_dir = layers.path().join("network");
    let app_dir = layers.path().join("app");
    std::fs::create_dir_all(&net_dir).expect("mkdir");
    std::fs::create_dir_all(&app_dir).expect("mkdir");
    std::fs::write(
        net_dir.join("terraform.tfstate"),
        serde_json::to_vec_pretty(&terraform_state(&vpc_id, &subnet_id)).expect("json"),
    )
    .expect("write Terraform state");
    let fixture = root().join("tests/fixtures/layers/app-on-terraform/main.tf");
    std::fs::copy(&fixture, app_dir.join("main.tf")).expect("copy spec");
    assert_ne!(
        std::env::current_dir().expect("cwd").as_path(),
        app_dir.as_path()
    );
    let dir = app_dir.to_str().expect("utf-8");

    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    let groups = stack_security_groups(&ec2, &stack).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].1, vpc_id, "the group is in Terraform's VPC");
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(app_dir.join("stackd.state.json")).expect("app state"),
    )
    .expect("state JSON");
    assert_eq!(output(&state, "vpc_id"), vpc_id.as_str());
    assert_eq!(
        output(&state, "subnet_ids"),
        &serde_json::json!([subnet_id.clone()])
    );
    run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);

    // The state file gone: an error naming the data source and the file.
    let tf_state = net_dir.join("terraform.tfstate");
    let kept = std::fs::read(&tf_state).expect("read");
    std::fs::remove_file(&tf_state).expect("remove");
    let out = run(&["diff", dir, "--stack", &stack]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    let expected = std::fs::canonicalize(dir)
        .expect("canonical")
        .join("../network/terraform.tfstate");
    assert!(
        said.contains("data.terraform_remote_state.net")
            && said.contains(&format!("no state file at {}", expected.display())),
        "{said}"
    );
    std::fs::write(&tf_state, kept).expect("restore");

    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert!(stack_security_groups(&ec2, &stack).await.is_empty());
    ec2.delete_subnet()
        .subnet_id(&subnet_id)
        .send()
        .await
        .expect("DeleteSubnet");
    ec2.delete_vpc()
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("DeleteVpc");
}
