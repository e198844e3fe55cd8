//! Moving a stack from Terraform: the test makes a small network with the
//! SDK (as Terraform would have), writes the Terraform state (format 4, as
//! Terraform documents and writes it) that describes it, then
//! `stackd import-terraform` takes the stack over: `diff` plans no create
//! and no destroy, `apply` only adds the ownership tags (same IDs, checked
//! with the SDK), and the objects are stackd's from then on.

use crate::support::*;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use serde_json::json;

fn name_tag(kind: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

/// One resource of a Terraform v4 state.
fn tf_resource(
    kind: &str,
    name: &str,
    instances: Vec<serde_json::Value>,
    each: bool,
) -> serde_json::Value {
    let mut r = json!({
        "mode": "managed",
        "type": kind,
        "name": name,
        "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": instances,
    });
    if each {
        r["each"] = json!("map");
    }
    r
}

fn tf_instance(attributes: serde_json::Value, dependencies: &[&str]) -> serde_json::Value {
    json!({
        "schema_version": 1,
        "attributes": attributes,
        "sensitive_attributes": [],
        "dependencies": dependencies,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terraform_stack_is_taken_over_without_recreating_anything() {
    require_localstack();
    let ec2 = ec2().await;
    let stack = unique_stack("tfimport");
    let name = stack.clone();

    // The network "Terraform made".
    let vpc_id = ec2
        .create_vpc()
        .cidr_block("10.61.0.0/16")
        .tag_specifications(name_tag(ResourceType::Vpc, &name))
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id().map(str::to_string))
        .expect("vpc id");
    let subnet_id = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.61.1.0/24")
        .availability_zone("us-east-1a")
        .tag_specifications(name_tag(ResourceType::Subnet, &format!("{name}-a")))
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id().map(str::to_string))
        .expect("subnet id");
    let igw_id = ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("CreateInternetGateway")
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id().map(str::to_string))
        .expect("igw id");
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw_id)
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("AttachInternetGateway");
    let rtb_id = ec2
        .create_route_table()
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("CreateRouteTable")
        .route_table()
        .and_then(|t| t.route_table_id().map(str::to_string))
        .expect("rtb id");
    let assoc_id = ec2
        .associate_route_table()
        .route_table_id(&rtb_id)
        .subnet_id(&subnet_id)
        .send()
        .await
        .expect("AssociateRouteTable")
        .association_id()
        .map(str::to_string)
        .expect("association id");
    let sg_id = ec2
        .create_security_group()
        .group_name(format!("{name}-web"))
        .description("web")
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .map(str::to_string)
        .expect("sg id");

    // Its Terraform state.
    let name_tags = |n: &str| json!({"Name": n});
    let tfstate = json!({
        "version": 4,
        "terraform_version": "1.11.0",
        "serial": 12,
        "lineage": "3f1c5d9e-7a6b-4c2d-9e8f-0a1b2c3d4e5f",
        "outputs": {"vpc_id": {"value": vpc_id, "type": "string"}},
        "resources": [
            tf_resource("aws_vpc", "main", vec![tf_instance(json!({
                "id": vpc_id, "cidr_block": "10.61.0.0/16", "enable_dns_support": true,
                "enable_dns_hostnames": false, "instance_tenancy": "default",
                "tags": name_tags(&name), "tags_all": name_tags(&name),
            }), &[])], false),
            tf_resource("aws_subnet", "public", vec![{
                let mut i = tf_instance(json!({
                    "id": subnet_id, "vpc_id": vpc_id, "cidr_block": "10.61.1.0/24",
                    "availability_zone": "us-east-1a", "map_public_ip_on_launch": false,
                    "tags": name_tags(&format!("{name}-a")),
                    "tags_all": name_tags(&format!("{name}-a")),
                }), &["aws_vpc.main"]);
                i["index_key"] = json!("a");
                i
            }], true),
            tf_resource("aws_internet_gateway", "main", vec![tf_instance(json!({
                "id": igw_id, "vpc_id": vpc_id, "tags": null, "tags_all": {},
            }), &["aws_vpc.main"])], false),
            tf_resource("aws_route_table", "public", vec![tf_instance(json!({
                "id": rtb_id, "vpc_id": vpc_id, "route": [], "tags": null, "tags_all": {},
            }), &["aws_vpc.main"])], false),
            tf_resource("aws_route_table_association", "public", vec![{
                let mut i = tf_instance(json!({
                    "id": assoc_id, "subnet_id": subnet_id, "route_table_id": rtb_id,
                    "gateway_id": "",
                }), &["aws_route_table.public", "aws_subnet.public", "aws_vpc.main"]);
                i["index_key"] = json!("a");
                i
            }], true),
            tf_resource("aws_security_group", "web", vec![tf_instance(json!({
                "id": sg_id, "name": format!("{name}-web"), "description": "web",
                "vpc_id": vpc_id, "revoke_rules_on_delete": false,
                "egress": [{"from_port": 0, "to_port": 0, "protocol": "-1",
                            "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [],
                            "prefix_list_ids": [], "security_groups": [], "self": false,
                            "description": ""}],
                "ingress": [], "tags": null, "tags_all": {},
            }), &["aws_vpc.main"])], false),
            tf_resource("aws_glue_job", "nightly", vec![tf_instance(json!({
                "id": "nightly", "name": "nightly",
            }), &[])], false),
        ],
    });
    let spec = copy_spec(&root().join("tests/fixtures/tf-import"));
    std::fs::write(
        spec.path().join("terraform.tfvars"),
        format!("name = \"{name}\"\n"),
    )
    .expect("tfvars");
    let dir = spec.path().to_str().expect("utf-8");
    let tf_dir = tempfile::tempdir().expect("temp dir");
    let tf_path = tf_dir.path().join("terraform.tfstate");
    std::fs::write(&tf_path, serde_json::to_vec_pretty(&tfstate).expect("json")).expect("write");
    let tf_path = tf_path.to_str().expect("utf-8");

    // Read from Terraform's S3 backend, as teams keep it.
    let s3 = s3().await;
    let bucket = format!("{stack}-tfstate");
    create_bucket(&s3, &bucket).await;
    s3.put_object()
        .bucket(&bucket)
        .key("net/terraform.tfstate")
        .body(serde_json::to_vec_pretty(&tfstate).expect("json").into())
        .send()
        .await
        .expect("PutObject");
    let missing = run(&[
        "import-terraform",
        &format!("s3://{bucket}/nope.tfstate"),
        dir,
        "--stack",
        &stack,
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("there is no Terraform state at s3://"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let out = run_ok(
        &[
            "import-terraform",
            &format!("s3://{bucket}/net/terraform.tfstate"),
            dir,
            "--stack",
            &stack,
        ],
        0,
    );
    delete_bucket(&s3, &bucket).await;
    let said = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("Imported 6 resources"), "{said}");
    assert!(
        said.contains("aws_glue_job.nightly") && said.contains("does not serve"),
        "an unsupported type is listed, not dropped: {said}"
    );
    // A second import never replaces the state.
    let again = run(&["import-terraform", tf_path, dir, "--stack", &stack]);
    assert_eq!(again.status.code(), Some(1));

    let plan: serde_json::Value = serde_json::from_str(&stdout(&run_ok(
        &["diff", dir, "--stack", &stack, "--format", "json"],
        0,
    )))
    .expect("plan JSON");
    let summary = &plan["summary"];
    assert_eq!(summary["add"], 0, "no creates: {summary}");
    assert_eq!(summary["replace"], 0, "no replacements: {summary}");
    assert_eq!(summary["destroy"], 0, "no destroys: {summary}");
    for change in plan["resource_changes"].as_array().expect("changes") {
        if change["action"] == "update" {
            assert!(
                !change["reasons"].as_array().expect("reasons").is_empty(),
                "an update says why: {change}"
            );
        }
    }

    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    // Same objects, now carrying the ownership tags.
    let lineage = {
        let state: serde_json::Value = serde_json::from_slice(
            &std::fs::read(spec.path().join("stackd.state.json")).expect("state"),
        )
        .expect("state JSON");
        state["lineage"].as_str().expect("lineage").to_string()
    };
    let vpcs = ec2
        .describe_vpcs()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeVpcs");
    let ids: Vec<&str> = vpcs.vpcs().iter().filter_map(|v| v.vpc_id()).collect();
    assert_eq!(
        ids,
        [vpc_id.as_str()],
        "the same VPC, now tagged as the stack's"
    );
    let tags = vpcs.vpcs()[0].tags();
    assert!(
        tags.iter()
            .any(|t| t.key() == Some("stackd:stack-id") && t.value() == Some(lineage.as_str())),
        "{tags:?}"
    );
    let subnets = ec2
        .describe_subnets()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeSubnets");
    let ids: Vec<&str> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id())
        .collect();
    assert_eq!(ids, [subnet_id.as_str()]);
    let groups = ec2
        .describe_security_groups()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeSecurityGroups");
    let ids: Vec<&str> = groups
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id())
        .collect();
    assert_eq!(ids, [sg_id.as_str()]);

    run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);
    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    let left = ec2
        .describe_vpcs()
        .vpc_ids(&vpc_id)
        .send()
        .await
        .map(|o| o.vpcs().len())
        .unwrap_or(0);
    assert_eq!(left, 0, "destroy removed the imported VPC");
}
