//! Smoke test of the network tier against a real EC2 API (LocalStack in
//! practice). It talks to `STACKD_TEST_ENDPOINT` (default
//! `http://127.0.0.1:4566`, where `localstack/start.sh` runs LocalStack) and
//! fails, saying how to start it, when nothing answers there.
//!
//! With `STACKD_AWS_CALL_LOG` set it also checks what a no-op refresh costs.
//!
//! It creates a VPC, subnet, internet gateway, EIP, NAT gateway, two route
//! tables (one with an inline route, one with an `aws_route`), an
//! association, two security groups referencing each other and a security
//! group rule; checks that a refresh reads back exactly what create
//! returned (a no-op diff); updates a few things; and deletes everything.

use crate::support;

use crate::support::{desired_args, use_localstack};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stackd_aws::{AwsProvider, AwsSettings};
use stackd_engine::provider::{
    ChangeRequest, DataRequest, DeleteRequest, KnownResource, Provider, RefreshRequest,
};
use stackd_spec::{Address, Mode, Value};

struct Harness {
    provider: AwsProvider,
    stack: String,
    /// Created resources in creation order: (address, id, attrs).
    created: Vec<(Address, String, Value)>,
    /// The desired arguments last applied, by address.
    desired: BTreeMap<String, Value>,
}

impl Harness {
    async fn create(&mut self, addr: &str, args: &[(&str, Value)]) -> (String, Value) {
        let address: Address = addr.parse().unwrap();
        let req = ChangeRequest {
            type_name: address.block.type_name.clone(),
            owner: support::owner(&self.stack),
            desired: desired_args(&self.provider, &self.stack, &address, args),
            prior: None,
            id: None,
            changed: Vec::new(),
            timeout: Duration::from_secs(120),
            idempotency_token: format!("{}-{addr}", self.stack),
            pending_since: None,
            address: address.clone(),
        };
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
        self.desired.insert(addr.to_string(), req.desired.clone());
        self.created.push((address, id.clone(), attrs.clone()));
        (id, attrs)
    }

    async fn update(&mut self, addr: &str, args: &[(&str, Value)], changed: &[&str]) -> Value {
        let address: Address = addr.parse().unwrap();
        let slot = self
            .created
            .iter()
            .position(|(a, _, _)| *a == address)
            .expect("created");
        let (_, id, prior) = self.created[slot].clone();
        let req = ChangeRequest {
            type_name: address.block.type_name.clone(),
            owner: support::owner(&self.stack),
            desired: desired_args(&self.provider, &self.stack, &address, args),
            prior: Some(prior),
            id: Some(id),
            changed: changed.iter().map(|c| c.to_string()).collect(),
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
        println!("updated {addr}\n  {attrs}");
        self.desired.insert(addr.to_string(), req.desired.clone());
        let id = attrs
            .get("id")
            .and_then(Value::as_str)
            .expect("id")
            .to_string();
        self.created[slot] = (address, id, attrs.clone());
        attrs
    }

    /// Checks `live` against the spec as the engine diffs: every schema
    /// attribute present; every argument equal to the desired value, except
    /// unset optional+computed ones and absent computed-when-absent blocks;
    /// `tags_all` equal.
    fn assert_no_diff(&self, address: &Address, live: &Value) {
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, &address.block.type_name)
            .unwrap();
        let desired = &self.desired[&address.to_string()];
        let sorted = |v: Option<&Value>| -> Option<Vec<String>> {
            v.and_then(Value::as_list).map(|l| {
                let mut items: Vec<String> = l.iter().map(|x| x.to_string()).collect();
                items.sort();
                items
            })
        };
        for a in &schema.body.attrs {
            if a.name == "tags" {
                continue;
            }
            let l = live.get(a.name);
            assert!(l.is_some(), "{address}: {} missing from live attrs", a.name);
            let d = desired.get(a.name).unwrap_or(&Value::Null);
            let skip = match a.presence {
                stackd_spec::schema::Presence::Computed => a.name != "tags_all",
                stackd_spec::schema::Presence::OptionalComputed => d.is_null(),
                _ => false,
            };
            if !skip {
                assert_eq!(l, Some(d), "{address}: {} differs", a.name);
            }
        }
        for b in &schema.body.blocks {
            let d = desired.get(b.name);
            if b.computed_when_absent && d.is_none_or(Value::is_null) {
                continue;
            }
            assert_eq!(
                sorted(live.get(b.name)),
                sorted(d),
                "{address}: {} blocks differ",
                b.name
            );
        }
    }

    /// Refreshes every type created and checks each live object reads as
    /// a no-op against the spec that made it.
    async fn refresh_all_and_compare(&self) {
        let mut types: Vec<&str> = self
            .created
            .iter()
            .map(|(a, _, _)| a.block.type_name.as_str())
            .collect();
        types.dedup();
        for t in types {
            let known: Vec<KnownResource> = self
                .created
                .iter()
                .filter(|(a, _, _)| a.block.type_name == t)
                .map(|(a, id, attrs)| KnownResource {
                    address: a.clone(),
                    id: id.clone(),
                    attrs: attrs.clone(),
                })
                .collect();
            let live = self
                .provider
                .refresh(&RefreshRequest {
                    type_name: t.to_string(),
                    owner: support::owner(&self.stack),
                    known: known.clone(),
                })
                .await
                .unwrap_or_else(|e| panic!("refresh {t}: {e}"));
            assert_eq!(live.len(), known.len(), "{t}: {live:?}");
            for k in &known {
                let l = live
                    .iter()
                    .find(|l| l.id == k.id)
                    .unwrap_or_else(|| panic!("{} not live", k.id));
                assert_eq!(l.address.as_ref(), Some(&k.address));
                self.assert_no_diff(&k.address, &l.attrs);
                if l.attrs != k.attrs {
                    println!(
                        "{}: computed attributes moved on since apply:\n  was  {}\n  now  {}",
                        k.address, k.attrs, l.attrs
                    );
                }
            }
        }
    }

    async fn delete_all(&mut self) {
        while let Some((address, id, prior)) = self.created.pop() {
            let req = DeleteRequest {
                type_name: address.block.type_name.clone(),
                address: address.clone(),
                id: id.clone(),
                prior,
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
        }
    }
}

fn call_count(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn v(s: &str) -> Value {
    Value::from(s)
}

fn n(x: i64) -> Value {
    Value::from(x)
}

fn sg_rule(protocol: &str, from: i64, to: i64, cidrs: &[&str], groups: &[&str]) -> Value {
    let list = |xs: &[&str]| {
        if xs.is_empty() {
            Value::Null
        } else {
            Value::from(xs.to_vec())
        }
    };
    Value::map([
        ("cidr_blocks", list(cidrs)),
        ("description", Value::Null),
        ("from_port", n(from)),
        ("ipv6_cidr_blocks", Value::Null),
        ("prefix_list_ids", Value::Null),
        ("protocol", v(protocol)),
        ("security_groups", list(groups)),
        ("self", Value::Bool(false)),
        ("to_port", n(to)),
    ])
}

fn route(cidr: &str, target: &str, id: &str) -> Value {
    let mut m: BTreeMap<String, Value> = [
        "cidr_block",
        "ipv6_cidr_block",
        "destination_prefix_list_id",
        "carrier_gateway_id",
        "core_network_arn",
        "egress_only_gateway_id",
        "gateway_id",
        "local_gateway_id",
        "nat_gateway_id",
        "network_interface_id",
        "transit_gateway_id",
        "vpc_endpoint_id",
        "vpc_peering_connection_id",
    ]
    .iter()
    .map(|k| (k.to_string(), Value::Null))
    .collect();
    m.insert("cidr_block".into(), v(cidr));
    m.insert(target.into(), v(id));
    Value::Map(m)
}

#[tokio::test]
async fn network_tier_round_trip() {
    use_localstack();
    let provider = AwsProvider::connect(AwsSettings::default())
        .await
        .expect("connect");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut h = Harness {
        provider,
        stack: format!("smoke-{nanos}"),
        created: Vec::new(),
        desired: BTreeMap::new(),
    };

    let zones = h
        .provider
        .read_data(&DataRequest {
            address: "data.aws_availability_zones.all".parse().unwrap(),
            type_name: "aws_availability_zones".into(),
            args: Value::map([("state", v("available"))]),
        })
        .await
        .expect("zones");
    println!("zones: {zones}");
    let az = zones
        .get("names")
        .and_then(Value::as_list)
        .and_then(|l| l.first())
        .cloned()
        .expect("a zone");

    let ami = h
        .provider
        .read_data(&DataRequest {
            address: "data.aws_ami.any".parse().unwrap(),
            type_name: "aws_ami".into(),
            args: Value::map([
                ("most_recent", Value::Bool(true)),
                ("owners", Value::from(vec!["amazon"])),
            ]),
        })
        .await;
    println!("ami: {ami:?}");

    let (vpc, vpc_attrs) = h
        .create(
            "aws_vpc.main",
            &[
                ("cidr_block", v("10.42.0.0/16")),
                ("enable_dns_hostnames", Value::Bool(true)),
                ("tags", Value::map([("Name", v("smoke"))])),
            ],
        )
        .await;
    assert_eq!(
        vpc_attrs.get("enable_dns_hostnames"),
        Some(&Value::Bool(true))
    );
    assert!(vpc_attrs
        .get("default_security_group_id")
        .and_then(Value::as_str)
        .is_some());
    assert!(vpc_attrs
        .get("main_route_table_id")
        .and_then(Value::as_str)
        .is_some());

    let (subnet, _) = h
        .create(
            "aws_subnet.public[\"a\"]",
            &[
                ("vpc_id", v(&vpc)),
                ("cidr_block", v("10.42.1.0/24")),
                ("availability_zone", az.clone()),
                ("map_public_ip_on_launch", Value::Bool(true)),
            ],
        )
        .await;
    let (igw, _) = h
        .create("aws_internet_gateway.gw", &[("vpc_id", v(&vpc))])
        .await;
    let (eip, _) = h.create("aws_eip.nat", &[("domain", v("vpc"))]).await;
    let (nat, nat_attrs) = h
        .create(
            "aws_nat_gateway.nat",
            &[("subnet_id", v(&subnet)), ("allocation_id", v(&eip))],
        )
        .await;
    assert_eq!(nat_attrs.get("allocation_id"), Some(&v(&eip)));

    let (public_rt, rt_attrs) = h
        .create(
            "aws_route_table.public",
            &[
                ("vpc_id", v(&vpc)),
                (
                    "route",
                    Value::List(vec![route("0.0.0.0/0", "gateway_id", &igw)]),
                ),
            ],
        )
        .await;
    assert_eq!(
        rt_attrs.get("route"),
        Some(&Value::List(vec![route("0.0.0.0/0", "gateway_id", &igw)]))
    );
    let (private_rt, _) = h
        .create("aws_route_table.private", &[("vpc_id", v(&vpc))])
        .await;
    let (route_id, _) = h
        .create(
            "aws_route.private_nat",
            &[
                ("route_table_id", v(&private_rt)),
                ("destination_cidr_block", v("0.0.0.0/0")),
                ("nat_gateway_id", v(&nat)),
            ],
        )
        .await;
    assert_eq!(route_id, format!("{private_rt}_0.0.0.0/0"));
    h.create(
        "aws_route_table_association.public[\"a\"]",
        &[("subnet_id", v(&subnet)), ("route_table_id", v(&public_rt))],
    )
    .await;

    let (lb_sg, lb_attrs) = h
        .create(
            "aws_security_group.lb",
            &[
                ("name_prefix", v("lb-")),
                ("vpc_id", v(&vpc)),
                (
                    "ingress",
                    Value::List(vec![sg_rule("tcp", 443, 443, &["0.0.0.0/0"], &[])]),
                ),
            ],
        )
        .await;
    assert_eq!(
        lb_attrs.get("ingress"),
        Some(&Value::List(vec![sg_rule(
            "tcp",
            443,
            443,
            &["0.0.0.0/0"],
            &[]
        )]))
    );
    let (app_sg, app_attrs) = h
        .create(
            "aws_security_group.app",
            &[
                ("name", v(&format!("{}-app", h.stack))),
                ("vpc_id", v(&vpc)),
                (
                    "ingress",
                    Value::List(vec![sg_rule("tcp", 8080, 8080, &[], &[&lb_sg])]),
                ),
                ("revoke_rules_on_delete", Value::Bool(true)),
            ],
        )
        .await;
    // No egress blocks: the default allow-all egress is revoked, as Terraform does.
    assert_eq!(app_attrs.get("egress"), Some(&Value::List(vec![])));
    // The load balancer group names the app group back, through a rule
    // resource (its egress blocks are left unmanaged).
    h.create(
        "aws_security_group_rule.lb_to_app",
        &[
            ("type", v("egress")),
            ("security_group_id", v(&lb_sg)),
            ("from_port", n(8080)),
            ("to_port", n(8080)),
            ("protocol", v("6")),
            ("source_security_group_id", v(&app_sg)),
            ("description", v("to the app")),
        ],
    )
    .await;
    let lb_live = h
        .provider
        .refresh(&RefreshRequest {
            type_name: "aws_security_group".into(),
            owner: support::owner(&h.stack),
            known: Vec::new(),
        })
        .await
        .expect("refresh");
    println!("groups as found by their tag alone: {lb_live:?}");

    println!("--- refresh after create");
    h.refresh_all_and_compare().await;

    println!("--- updates");
    h.update(
        "aws_vpc.main",
        &[
            ("cidr_block", v("10.42.0.0/16")),
            ("enable_dns_hostnames", Value::Bool(false)),
            (
                "tags",
                Value::map([("Name", v("smoke2")), ("Team", v("net"))]),
            ),
        ],
        &["enable_dns_hostnames", "tags"],
    )
    .await;
    h.update(
        "aws_route_table.public",
        &[
            ("vpc_id", v(&vpc)),
            (
                "route",
                Value::List(vec![
                    route("0.0.0.0/0", "gateway_id", &igw),
                    route("192.168.0.0/16", "nat_gateway_id", &nat),
                ]),
            ),
        ],
        &["route"],
    )
    .await;
    h.update(
        "aws_security_group.lb",
        &[
            ("name_prefix", v("lb-")),
            ("vpc_id", v(&vpc)),
            (
                "ingress",
                Value::List(vec![
                    sg_rule("tcp", 443, 443, &["0.0.0.0/0"], &[]),
                    sg_rule("tcp", 80, 80, &["10.0.0.0/8", "192.168.0.0/16"], &[]),
                ]),
            ),
        ],
        &["ingress"],
    )
    .await;
    let assoc = h
        .update(
            "aws_route_table_association.public[\"a\"]",
            &[
                ("subnet_id", v(&subnet)),
                ("route_table_id", v(&private_rt)),
            ],
            &["route_table_id"],
        )
        .await;
    assert_eq!(assoc.get("route_table_id"), Some(&v(&private_rt)));
    h.update(
        "aws_route.private_nat",
        &[
            ("route_table_id", v(&private_rt)),
            ("destination_cidr_block", v("0.0.0.0/0")),
            ("gateway_id", v(&igw)),
        ],
        &["gateway_id", "nat_gateway_id"],
    )
    .await;

    println!("--- refresh after updates");
    let log = std::env::var_os(stackd_aws::CALL_LOG_ENV).map(std::path::PathBuf::from);
    let calls_before = log.as_ref().map(|p| call_count(p));
    h.refresh_all_and_compare().await;
    if let (Some(path), Some(before)) = (&log, calls_before) {
        // One Describe chain per type (10 types, none paginated here), plus
        // the VPC's two DescribeVpcAttribute calls.
        let calls = call_count(path) - before;
        println!("a no-op refresh of 10 types cost {calls} calls");
        assert_eq!(calls, 12);
    }

    // An object tagged with the stack but unknown to state is found by its tag.
    let orphans = h
        .provider
        .refresh(&RefreshRequest {
            type_name: "aws_subnet".into(),
            owner: support::owner(&h.stack),
            known: Vec::new(),
        })
        .await
        .expect("refresh");
    assert_eq!(orphans.len(), 1);
    assert_eq!(
        orphans[0]
            .address
            .as_ref()
            .map(|a| a.to_string())
            .as_deref(),
        Some("aws_subnet.public[\"a\"]")
    );

    println!("--- delete");
    h.delete_all().await;

    for t in [
        "aws_vpc",
        "aws_subnet",
        "aws_security_group",
        "aws_nat_gateway",
        "aws_eip",
    ] {
        let left = h
            .provider
            .refresh(&RefreshRequest {
                type_name: t.into(),
                owner: support::owner(&h.stack),
                known: Vec::new(),
            })
            .await
            .expect("refresh");
        assert!(left.is_empty(), "{t} left: {left:?}");
    }
}
