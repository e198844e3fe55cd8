//! The network tier of the reference architecture, end to end against
//! LocalStack: apply → check the cloud with the SDK → no-op diff → change
//! one argument → drift out of band → restore → destroy → nothing left.

use crate::support::*;
use aws_sdk_ec2::types::{Filter, Tag};

fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("diff --format json prints JSON")
}

/// (address, action, changed attribute names) of every non-no-op change.
fn changes(plan: &serde_json::Value) -> Vec<(String, String, Vec<String>)> {
    plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| {
            (
                c["address"].as_str().unwrap_or_default().to_string(),
                c["action"].as_str().unwrap_or_default().to_string(),
                c["changes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| x["attribute"].as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn network_tier_round_trip() {
    require_localstack();
    let spec = copy_spec(&root().join("specs/network"));
    let dir = spec.path().to_str().expect("utf-8").to_string();
    let stack = unique_stack("net");
    let call = |extra: &[&str], cmd: &str, code: i32| {
        let mut argv = vec![cmd, dir.as_str(), "--stack", stack.as_str()];
        argv.extend_from_slice(extra);
        run_ok(&argv, code)
    };

    // Apply.
    let out = call(&["--auto-approve"], "apply", 0);
    let text = stdout(&out);
    assert!(
        text.contains("Outputs:") && text.contains("vpc_id = "),
        "{text}"
    );

    // The cloud, seen through the SDK directly.
    let ec2 = ec2().await;
    let vpcs = ec2
        .describe_vpcs()
        .filters(stack_filter(&stack))
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let vpc = &vpcs.vpcs()[0];
    let vpc_id = vpc.vpc_id().unwrap().to_string();
    assert_eq!(vpc.cidr_block(), Some("10.20.0.0/16"));
    assert_eq!(tag(vpc.tags(), "Name"), Some("ecs-web-vpc"));
    assert_eq!(
        tag(vpc.tags(), "Project"),
        Some("ecs-web"),
        "default_tags applied"
    );
    assert_eq!(tag(vpc.tags(), "stackd:address"), Some("aws_vpc.main"));
    let dns = ec2
        .describe_vpc_attribute()
        .vpc_id(&vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        dns.enable_dns_hostnames().and_then(|a| a.value()),
        Some(true)
    );

    let subnets = ec2
        .describe_subnets()
        .filters(stack_filter(&stack))
        .send()
        .await
        .unwrap();
    let subnets = subnets.subnets();
    assert_eq!(subnets.len(), 4);
    let public: Vec<_> = subnets
        .iter()
        .filter(|s| tag(s.tags(), "Tier") == Some("public"))
        .collect();
    let private: Vec<_> = subnets
        .iter()
        .filter(|s| tag(s.tags(), "Tier") == Some("private"))
        .collect();
    assert_eq!((public.len(), private.len()), (2, 2));
    assert!(public
        .iter()
        .all(|s| s.map_public_ip_on_launch() == Some(true)));
    assert!(private
        .iter()
        .all(|s| s.map_public_ip_on_launch() == Some(false)));
    let mut azs: Vec<_> = public
        .iter()
        .map(|s| s.availability_zone().unwrap())
        .collect();
    azs.sort();
    azs.dedup();
    assert_eq!(azs.len(), 2, "public subnets span two AZs");
    let mut cidrs: Vec<_> = subnets
        .iter()
        .map(|s| s.cidr_block().unwrap().to_string())
        .collect();
    cidrs.sort();
    assert_eq!(
        cidrs,
        [
            "10.20.0.0/24",
            "10.20.1.0/24",
            "10.20.10.0/24",
            "10.20.11.0/24"
        ]
    );

    let igws = ec2
        .describe_internet_gateways()
        .filters(stack_filter(&stack))
        .send()
        .await
        .unwrap();
    let igw = &igws.internet_gateways()[0];
    assert_eq!(igw.attachments()[0].vpc_id(), Some(vpc_id.as_str()));
    let igw_id = igw.internet_gateway_id().unwrap();

    let nats = stack_nat_gateways(&ec2, &stack).await;
    assert_eq!(nats.len(), 1);
    let nat = &nats[0];
    let nat_id = nat.nat_gateway_id().unwrap();
    assert!(
        public.iter().any(|s| s.subnet_id() == nat.subnet_id()),
        "NAT gateway in a public subnet"
    );
    let eips = ec2
        .describe_addresses()
        .filters(stack_filter(&stack))
        .send()
        .await
        .unwrap();
    assert_eq!(eips.addresses().len(), 1);
    assert_eq!(
        nat.nat_gateway_addresses()[0].allocation_id(),
        eips.addresses()[0].allocation_id(),
        "NAT gateway uses the stack's EIP"
    );

    let rtbs = ec2
        .describe_route_tables()
        .filters(stack_filter(&stack))
        .send()
        .await
        .unwrap();
    let rtbs = rtbs.route_tables();
    assert_eq!(rtbs.len(), 2);
    let default_route = |rt: &aws_sdk_ec2::types::RouteTable| {
        rt.routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .cloned()
    };
    let public_rt = rtbs
        .iter()
        .find(|r| tag(r.tags(), "Name") == Some("ecs-web-public"))
        .unwrap();
    let private_rt = rtbs
        .iter()
        .find(|r| tag(r.tags(), "Name") == Some("ecs-web-private"))
        .unwrap();
    assert_eq!(
        default_route(public_rt)
            .and_then(|r| r.gateway_id().map(str::to_string))
            .as_deref(),
        Some(igw_id)
    );
    assert_eq!(
        default_route(private_rt)
            .and_then(|r| r.nat_gateway_id().map(str::to_string))
            .as_deref(),
        Some(nat_id)
    );
    let associated = |rt: &aws_sdk_ec2::types::RouteTable| {
        let mut v: Vec<String> = rt
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    let mut public_ids: Vec<String> = public
        .iter()
        .map(|s| s.subnet_id().unwrap().to_string())
        .collect();
    public_ids.sort();
    let mut private_ids: Vec<String> = private
        .iter()
        .map(|s| s.subnet_id().unwrap().to_string())
        .collect();
    private_ids.sort();
    assert_eq!(associated(public_rt), public_ids);
    assert_eq!(associated(private_rt), private_ids);

    let sgs = ec2
        .describe_security_groups()
        .filters(stack_filter(&stack))
        .send()
        .await
        .unwrap();
    let sg = |name: &str| {
        sgs.security_groups()
            .iter()
            .find(|g| g.group_name() == Some(name))
            .unwrap_or_else(|| panic!("security group {name}"))
            .clone()
    };
    let (alb, app, bastion) = (sg("ecs-web-alb"), sg("ecs-web-app"), sg("ecs-web-bastion"));
    let mut alb_ports: Vec<i32> = alb
        .ip_permissions()
        .iter()
        .filter_map(|p| p.from_port())
        .collect();
    alb_ports.sort();
    assert_eq!(alb_ports, [80, 443]);
    let from_group = |g: &aws_sdk_ec2::types::SecurityGroup, port: i32, source: &str| {
        g.ip_permissions().iter().any(|p| {
            p.from_port() == Some(port)
                && p.user_id_group_pairs()
                    .iter()
                    .any(|u| u.group_id() == Some(source))
        })
    };
    assert!(
        from_group(&app, 3000, alb.group_id().unwrap()),
        "app accepts the ALB's group"
    );
    assert!(
        from_group(&app, 22, bastion.group_id().unwrap()),
        "app accepts SSH from the bastion's group"
    );
    let ssh = &bastion.ip_permissions()[0];
    assert_eq!(ssh.from_port(), Some(22));
    assert_eq!(ssh.ip_ranges()[0].cidr_ip(), Some("203.0.113.10/32"));
    assert!(alb.ip_permissions_egress().iter().any(|p| p
        .user_id_group_pairs()
        .iter()
        .any(|u| u.group_id() == app.group_id())));

    // Nothing to do right after apply.
    call(&["--detailed-exitcode"], "diff", 0);

    // One argument changed: exactly that change is planned.
    let new_cidr = "--var=admin_cidr=198.51.100.7/32";
    let out = call(
        &[new_cidr, "--detailed-exitcode", "--format", "json"],
        "diff",
        2,
    );
    assert_eq!(
        changes(&json(&out)),
        vec![(
            "aws_security_group.bastion".into(),
            "update".into(),
            vec!["ingress".into()]
        )]
    );
    let out = call(&[new_cidr, "--detailed-exitcode"], "diff", 2);
    assert!(stdout(&out).contains("Plan: 0 to add, 1 to change, 0 to destroy."));
    call(&[new_cidr, "--auto-approve"], "apply", 0);
    call(&[new_cidr, "--detailed-exitcode"], "diff", 0);
    let bastion_now = ec2
        .describe_security_groups()
        .group_ids(bastion.group_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        bastion_now.security_groups()[0].ip_permissions()[0].ip_ranges()[0].cidr_ip(),
        Some("198.51.100.7/32")
    );

    // Drift: a rule and a tag changed out of band.
    ec2.authorize_security_group_ingress()
        .group_id(bastion.group_id().unwrap())
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(3389)
                .to_port(3389)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.create_tags()
        .resources(&vpc_id)
        .tags(Tag::builder().key("Name").value("renamed-by-hand").build())
        .send()
        .await
        .unwrap();
    let out = call(
        &[new_cidr, "--detailed-exitcode", "--format", "json"],
        "diff",
        2,
    );
    let drift = changes(&json(&out));
    assert_eq!(
        drift,
        vec![
            (
                "aws_security_group.bastion".into(),
                "update".into(),
                vec!["ingress".into()]
            ),
            (
                "aws_vpc.main".into(),
                "update".into(),
                vec!["tags_all".into()]
            ),
        ],
        "drift of a rule and a tag"
    );
    call(&[new_cidr, "--auto-approve"], "apply", 0);
    call(&[new_cidr, "--detailed-exitcode"], "diff", 0);
    let vpc_now = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert_eq!(tag(vpc_now.vpcs()[0].tags(), "Name"), Some("ecs-web-vpc"));
    let bastion_now = ec2
        .describe_security_groups()
        .group_ids(bastion.group_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        bastion_now.security_groups()[0].ip_permissions().len(),
        1,
        "the extra rule is revoked"
    );

    // Destroy: nothing tagged with the stack remains.
    call(&[new_cidr, "--auto-approve"], "destroy", 0);
    let left = tagged_resources(&ec2, &stack).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    let by_vpc = ec2
        .describe_subnets()
        .filters(Filter::builder().name("vpc-id").values(&vpc_id).build())
        .send()
        .await
        .unwrap();
    assert!(by_vpc.subnets().is_empty());
}
