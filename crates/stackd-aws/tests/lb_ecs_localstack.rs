//! Round trip of the load-balancing and ECS resource types against a real
//! API (LocalStack in practice). It talks to `STACKD_TEST_ENDPOINT`
//! (default `http://127.0.0.1:4566`, where `localstack/start.sh` runs
//! LocalStack) and fails, saying how to start it, when nothing answers.
//!
//! For each type: create; create again with the same idempotency token (a
//! retry after a crash must adopt, not duplicate); refresh and check the
//! engine's diff against the spec is empty; update something updatable;
//! refresh and diff again; delete; check a refresh finds nothing.

use crate::support;

use crate::support::use_localstack;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stackd_aws::{AwsProvider, AwsSettings};
use stackd_engine::diff::{diff, IgnoreChanges};
use stackd_engine::provider::{
    ChangeRequest, DataRequest, DeleteRequest, KnownResource, Provider, RefreshRequest,
    ADDRESS_TAG, STACK_ID_TAG, STACK_TAG,
};
use stackd_spec::{Address, Mode, Value};

struct Harness {
    provider: AwsProvider,
    stack: String,
    /// Live resources in creation order: (address, id, attrs).
    created: Vec<(Address, String, Value)>,
    /// The desired arguments last applied, by address.
    desired: BTreeMap<String, Value>,
    /// Everything ever created, by type (for the final "all gone" check).
    all: Vec<(Address, String, Value)>,
}

impl Harness {
    /// Desired arguments in schema shape: every argument present, with its
    /// default or null, and `tags_all` with the ownership tags.
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
            let unwritten = if b.computed_when_absent {
                Value::Null
            } else {
                Value::List(Vec::new())
            };
            m.insert(b.name.to_string(), unwritten);
        }
        for (k, v) in args {
            let value = match schema.body.find_block(k) {
                Some(b) => fill_blocks(b, v),
                None => v.clone(),
            };
            m.insert(k.to_string(), value);
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

    fn change_request(&self, addr: &str, args: &[(&str, Value)], token: &str) -> ChangeRequest {
        let address: Address = addr.parse().unwrap();
        ChangeRequest {
            type_name: address.block.type_name.clone(),
            owner: support::owner(&self.stack),
            desired: self.desired(&address, args),
            prior: None,
            id: None,
            changed: Vec::new(),
            timeout: Duration::from_secs(120),
            idempotency_token: format!("{}-{addr}-{token}", self.stack),
            pending_since: None,
            address,
        }
    }

    /// Creates, then creates again with the same token: the second call
    /// must find the first object, as after a crash before the state write.
    async fn create(&mut self, addr: &str, args: &[(&str, Value)]) -> (String, Value) {
        let req = self.change_request(addr, args, "1");
        let attrs = self
            .provider
            .create(&req)
            .await
            .unwrap_or_else(|e| panic!("create {addr}: {e}"));
        let id = id_of(&attrs);
        println!("created {addr} = {id}");
        // The network tier's types are checked elsewhere; only this
        // family's creates are retried here.
        let ours = ["aws_lb", "aws_ecs"]
            .iter()
            .any(|p| req.type_name.starts_with(p));
        let again = if !ours {
            attrs.clone()
        } else {
            self.provider
                .create(&req)
                .await
                .unwrap_or_else(|e| panic!("create {addr} again: {e}"))
        };
        assert_eq!(
            id_of(&again),
            id,
            "{addr}: a retried create made a second object"
        );
        assert_eq!(
            again.get("arn"),
            attrs.get("arn"),
            "{addr}: a retried create made a second object"
        );
        self.desired.insert(addr.to_string(), req.desired.clone());
        self.assert_no_diff(&req.address, &attrs);
        self.created
            .push((req.address.clone(), id.clone(), attrs.clone()));
        self.all.push((req.address, id.clone(), attrs.clone()));
        (id, attrs)
    }

    async fn update(&mut self, addr: &str, args: &[(&str, Value)]) -> Value {
        let address: Address = addr.parse().unwrap();
        let slot = self
            .created
            .iter()
            .position(|(a, _, _)| *a == address)
            .expect("created");
        let (_, id, prior) = self.created[slot].clone();
        let desired = self.desired(&address, args);
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, &address.block.type_name)
            .unwrap();
        let changes = diff(schema, &desired, &prior, &IgnoreChanges::default());
        assert!(!changes.is_empty(), "{addr}: the update changes nothing");
        assert!(
            changes.iter().all(|c| !c.forces_replacement),
            "{addr}: the update forces replacement: {changes:?}"
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
        println!("updating {addr}: {:?}", req.changed);
        let attrs = self
            .provider
            .update(&req)
            .await
            .unwrap_or_else(|e| panic!("update {addr}: {e}"));
        self.desired.insert(addr.to_string(), req.desired.clone());
        self.assert_no_diff(&address, &attrs);
        let id = id_of(&attrs);
        self.created[slot] = (address, id, attrs.clone());
        attrs
    }

    /// Replaces as the engine does for a change that forces it: creates
    /// the new object, then deletes the old one.
    async fn replace(&mut self, addr: &str, args: &[(&str, Value)]) -> Value {
        let address: Address = addr.parse().unwrap();
        let slot = self
            .created
            .iter()
            .position(|(a, _, _)| *a == address)
            .expect("created");
        let (_, old_id, old_attrs) = self.created[slot].clone();
        let req = self.change_request(addr, args, "2");
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, &address.block.type_name)
            .unwrap();
        let changes = diff(schema, &req.desired, &old_attrs, &IgnoreChanges::default());
        assert!(
            changes.iter().any(|c| c.forces_replacement),
            "{addr}: expected a replacement: {changes:?}"
        );
        let attrs = self
            .provider
            .create(&req)
            .await
            .unwrap_or_else(|e| panic!("replace {addr}: {e}"));
        println!(
            "replaced {addr}: {:?} -> {:?}",
            old_attrs.get("arn"),
            attrs.get("arn")
        );
        self.provider
            .delete(&DeleteRequest {
                type_name: address.block.type_name.clone(),
                address: address.clone(),
                id: old_id,
                prior: old_attrs,
                timeout: Duration::from_secs(120),
            })
            .await
            .unwrap_or_else(|e| panic!("delete old {addr}: {e}"));
        self.desired.insert(addr.to_string(), req.desired.clone());
        self.assert_no_diff(&address, &attrs);
        self.created[slot] = (address.clone(), id_of(&attrs), attrs.clone());
        self.all.push((address, id_of(&attrs), attrs.clone()));
        attrs
    }

    /// The engine's diff of the spec against `live` must be empty.
    fn assert_no_diff(&self, address: &Address, live: &Value) {
        let schema = self
            .provider
            .schemas()
            .get(Mode::Managed, &address.block.type_name)
            .unwrap();
        for a in &schema.body.attrs {
            if a.name != "tags" {
                assert!(live.get(a.name).is_some(), "{address}: {} missing", a.name);
            }
        }
        for b in &schema.body.blocks {
            assert!(
                live.get(b.name).is_some(),
                "{address}: block {} missing",
                b.name
            );
        }
        let desired = &self.desired[&address.to_string()];
        let changes = diff(schema, desired, live, &IgnoreChanges::default());
        assert!(
            changes.is_empty(),
            "{address}: live differs from the spec:\n{changes:#?}\nlive: {live}"
        );
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

    fn known(list: &[(Address, String, Value)], type_name: &str) -> Vec<KnownResource> {
        list.iter()
            .filter(|(a, _, _)| a.block.type_name == type_name)
            .map(|(a, id, attrs)| KnownResource {
                address: a.clone(),
                id: id.clone(),
                attrs: attrs.clone(),
            })
            .collect()
    }

    fn types(&self) -> Vec<String> {
        let mut types: Vec<String> = Vec::new();
        for (a, _, _) in &self.created {
            if !types.contains(&a.block.type_name) {
                types.push(a.block.type_name.clone());
            }
        }
        types
    }

    /// Refreshes every type created and checks each live object diffs
    /// clean against the spec that made it.
    async fn refresh_all_and_compare(&self) {
        for t in self.types() {
            let known = Self::known(&self.created, &t);
            let live = self.refresh(&t, known.clone()).await;
            assert_eq!(live.len(), known.len(), "{t}: {live:#?}");
            for k in &known {
                let l = live
                    .iter()
                    .find(|l| l.id == k.id)
                    .unwrap_or_else(|| panic!("{} ({}) not found by refresh", k.address, k.id));
                assert_eq!(l.address.as_ref(), Some(&k.address));
                self.assert_no_diff(&k.address, &l.attrs);
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

/// Nested blocks as the spec evaluator gives them: every attribute
/// present, with its default or null; unwritten sub-blocks empty (or null
/// when computed when absent).
fn fill_blocks(schema: &stackd_spec::BlockSchema, blocks: &Value) -> Value {
    let Some(items) = blocks.as_list() else {
        return blocks.clone();
    };
    Value::List(
        items
            .iter()
            .map(|item| {
                let mut m = BTreeMap::new();
                for a in &schema.attrs {
                    let value = item
                        .get(a.name)
                        .cloned()
                        .unwrap_or_else(|| a.default.clone().unwrap_or(Value::Null));
                    m.insert(a.name.to_string(), value);
                }
                for b in &schema.blocks {
                    let value = match item.get(b.name) {
                        Some(v) if !v.is_null() => fill_blocks(b, v),
                        _ if b.computed_when_absent => Value::Null,
                        _ => Value::List(Vec::new()),
                    };
                    m.insert(b.name.to_string(), value);
                }
                Value::Map(m)
            })
            .collect(),
    )
}

fn id_of(attrs: &Value) -> String {
    attrs
        .get("id")
        .and_then(Value::as_str)
        .expect("id")
        .to_string()
}

fn v(s: &str) -> Value {
    Value::from(s)
}

fn n(x: i64) -> Value {
    Value::from(x)
}

fn block(pairs: Vec<(&str, Value)>) -> Value {
    Value::List(vec![Value::map(pairs)])
}

const CONTAINERS_V1: &str = r#"[
  {
    "name": "api",
    "image": "public.ecr.aws/docker/library/node:20-alpine",
    "essential": true,
    "memory": 256,
    "portMappings": [{"containerPort": 3000}],
    "environment": [{"name": "PORT", "value": "3000"}, {"name": "NODE_ENV", "value": "production"}],
    "healthCheck": {"command": ["CMD-SHELL", "wget -qO- http://localhost:3000/health || exit 1"]},
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api"}}
  },
  {
    "name": "log-router",
    "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
    "essential": false,
    "memoryReservation": 50,
    "firelensConfiguration": {"type": "fluentbit"}
  }
]"#;

#[tokio::test]
async fn load_balancing_and_ecs_round_trip() {
    use_localstack();
    let provider = AwsProvider::connect(AwsSettings::default())
        .await
        .expect("connect");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let short = format!("{:08x}", (nanos % 0xffff_ffff) as u64);
    let mut h = Harness {
        provider,
        stack: format!("lbecs-{nanos}"),
        created: Vec::new(),
        desired: BTreeMap::new(),
        all: Vec::new(),
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
    let names = zones.get("names").and_then(Value::as_list).expect("zones");
    let (az_a, az_b) = (names[0].clone(), names[1].clone());

    println!("--- network");
    let (vpc, _) = h
        .create("aws_vpc.main", &[("cidr_block", v("10.77.0.0/16"))])
        .await;
    let (subnet_a, _) = h
        .create(
            "aws_subnet.a",
            &[
                ("vpc_id", v(&vpc)),
                ("cidr_block", v("10.77.1.0/24")),
                ("availability_zone", az_a),
            ],
        )
        .await;
    let (subnet_b, _) = h
        .create(
            "aws_subnet.b",
            &[
                ("vpc_id", v(&vpc)),
                ("cidr_block", v("10.77.2.0/24")),
                ("availability_zone", az_b),
            ],
        )
        .await;
    let (sg, _) = h
        .create(
            "aws_security_group.lb",
            &[("name", v(&format!("{}-lb", h.stack))), ("vpc_id", v(&vpc))],
        )
        .await;
    let subnets = Value::from(vec![subnet_a.as_str(), subnet_b.as_str()]);

    println!("--- load balancing");
    let lb_args = |extra: Vec<(&'static str, Value)>| {
        let mut a = vec![
            ("name", v(&format!("t{short}-alb"))),
            ("subnets", subnets.clone()),
            ("security_groups", Value::from(vec![sg.as_str()])),
            ("tags", Value::map([("Name", v("alb"))])),
        ];
        a.extend(extra);
        a
    };
    let (lb, lb_attrs) = h.create("aws_lb.main", &lb_args(vec![])).await;
    assert!(lb_attrs.get("dns_name").and_then(Value::as_str).is_some());
    assert_eq!(lb_attrs.get("vpc_id"), Some(&v(&vpc)));

    let tg_args = |delay: i64, path: &str| {
        vec![
            ("name", v(&format!("t{short}-api"))),
            ("port", n(3000)),
            ("protocol", v("HTTP")),
            ("vpc_id", v(&vpc)),
            ("target_type", v("ip")),
            ("deregistration_delay", n(delay)),
            (
                "health_check",
                block(vec![("path", v(path)), ("matcher", v("200-299"))]),
            ),
        ]
    };
    let (tg, _) = h
        .create("aws_lb_target_group.api", &tg_args(30, "/health"))
        .await;

    // A replacement created first under the same name (create_before_destroy
    // with a fixed name) is refused, as AWS refuses it, not adopted.
    let mut clash_args = tg_args(30, "/health");
    clash_args.retain(|(k, _)| *k != "port");
    clash_args.push(("port", n(8080)));
    let clash = h.change_request("aws_lb_target_group.api", &clash_args, "clash");
    let err = h
        .provider
        .create(&clash)
        .await
        .expect_err("a second target group under the same name");
    assert!(err.message.contains("port"), "{err}");

    let not_found = block(vec![
        ("type", v("fixed-response")),
        (
            "fixed_response",
            block(vec![
                ("content_type", v("text/plain")),
                ("message_body", v("not found")),
                ("status_code", v("404")),
            ]),
        ),
    ]);
    let (listener, _) = h
        .create(
            "aws_lb_listener.http",
            &[
                ("load_balancer_arn", v(&lb)),
                ("port", n(80)),
                ("protocol", v("HTTP")),
                ("default_action", not_found.clone()),
            ],
        )
        .await;
    let forward = block(vec![("type", v("forward")), ("target_group_arn", v(&tg))]);
    let path_condition = |values: Vec<&str>| {
        Value::map([("path_pattern", block(vec![("values", Value::from(values))]))])
    };
    h.create(
        "aws_lb_listener_rule.api",
        &[
            ("listener_arn", v(&listener)),
            ("priority", n(10)),
            ("action", forward.clone()),
            (
                "condition",
                Value::List(vec![path_condition(vec!["/api/*"])]),
            ),
        ],
    )
    .await;

    // Found by its ownership tag alone, as after losing the state file.
    let by_tag = h.refresh("aws_lb", Vec::new()).await;
    assert_eq!(by_tag.len(), 1, "{by_tag:?}");
    assert_eq!(
        by_tag[0].address.as_ref().map(|a| a.to_string()).as_deref(),
        Some("aws_lb.main")
    );

    println!("--- ecs");
    let (cluster, _) = h
        .create(
            "aws_ecs_cluster.main",
            &[
                ("name", v(&format!("{}-cluster", h.stack))),
                (
                    "setting",
                    block(vec![
                        ("name", v("containerInsights")),
                        ("value", v("enabled")),
                    ]),
                ),
            ],
        )
        .await;
    let cluster_name = format!("{}-cluster", h.stack);
    let strategy = |fargate_weight: i64, spot: bool| {
        let mut items = vec![Value::map([
            ("capacity_provider", v("FARGATE")),
            ("weight", n(fargate_weight)),
            ("base", n(1)),
        ])];
        if spot {
            items.push(Value::map([
                ("capacity_provider", v("FARGATE_SPOT")),
                ("weight", n(1)),
            ]));
        }
        Value::List(items)
    };
    h.create(
        "aws_ecs_cluster_capacity_providers.main",
        &[
            ("cluster_name", v(&cluster_name)),
            (
                "capacity_providers",
                Value::from(vec!["FARGATE", "FARGATE_SPOT"]),
            ),
            ("default_capacity_provider_strategy", strategy(1, false)),
        ],
    )
    .await;

    let family = format!("{}-api", h.stack);
    let td_args = |containers: &str| {
        vec![
            ("family", v(&family)),
            ("container_definitions", v(containers)),
            ("cpu", v("256")),
            ("memory", v("512")),
            ("network_mode", v("awsvpc")),
            ("requires_compatibilities", Value::from(vec!["FARGATE"])),
            (
                "runtime_platform",
                block(vec![
                    ("operating_system_family", v("LINUX")),
                    ("cpu_architecture", v("X86_64")),
                ]),
            ),
        ]
    };
    let (_, td_attrs) = h
        .create("aws_ecs_task_definition.api", &td_args(CONTAINERS_V1))
        .await;
    let td_v1 = td_attrs
        .get("arn")
        .and_then(Value::as_str)
        .unwrap()
        .to_string();

    let service_args = |task_definition: &str, desired: i64| {
        vec![
            ("name", v("api")),
            ("cluster", v(&cluster)),
            ("task_definition", v(task_definition)),
            ("desired_count", n(desired)),
            ("launch_type", v("FARGATE")),
            (
                "network_configuration",
                block(vec![
                    ("subnets", subnets.clone()),
                    ("security_groups", Value::from(vec![sg.as_str()])),
                    ("assign_public_ip", Value::Bool(false)),
                ]),
            ),
            (
                "load_balancer",
                block(vec![
                    ("target_group_arn", v(&tg)),
                    ("container_name", v("api")),
                    ("container_port", n(3000)),
                ]),
            ),
            (
                "deployment_circuit_breaker",
                block(vec![
                    ("enable", Value::Bool(true)),
                    ("rollback", Value::Bool(true)),
                ]),
            ),
            ("health_check_grace_period_seconds", n(30)),
            ("enable_execute_command", Value::Bool(true)),
            // Emulated ECS runs no tasks: settled only at zero tasks (or
            // after an update, where moto counts the tasks as running).
            ("wait_for_steady_state", Value::Bool(true)),
            ("tags", Value::map([("Name", v("api"))])),
        ]
    };
    h.create("aws_ecs_service.api", &service_args(&td_v1, 0))
        .await;

    println!("--- refresh after create");
    h.refresh_all_and_compare().await;

    println!("--- updates");
    h.update(
        "aws_lb.main",
        &lb_args(vec![
            ("idle_timeout", n(120)),
            ("tags", Value::map([("Name", v("alb")), ("Team", v("web"))])),
        ]),
    )
    .await;
    h.update("aws_lb_target_group.api", &tg_args(10, "/healthz"))
        .await;
    h.update(
        "aws_lb_listener.http",
        &[
            ("load_balancer_arn", v(&lb)),
            ("port", n(80)),
            ("protocol", v("HTTP")),
            ("default_action", forward.clone()),
        ],
    )
    .await;
    h.update(
        "aws_lb_listener_rule.api",
        &[
            ("listener_arn", v(&listener)),
            ("priority", n(20)),
            ("action", forward.clone()),
            (
                "condition",
                Value::List(vec![
                    path_condition(vec!["/api/*", "/v1/*"]),
                    Value::map([(
                        "host_header",
                        block(vec![("values", Value::from(vec!["api.example.com"]))]),
                    )]),
                ]),
            ),
        ],
    )
    .await;
    h.update(
        "aws_ecs_cluster.main",
        &[
            ("name", v(&cluster_name)),
            (
                "setting",
                block(vec![
                    ("name", v("containerInsights")),
                    ("value", v("disabled")),
                ]),
            ),
            ("tags", Value::map([("Team", v("platform"))])),
        ],
    )
    .await;
    h.update(
        "aws_ecs_cluster_capacity_providers.main",
        &[
            ("cluster_name", v(&cluster_name)),
            (
                "capacity_providers",
                Value::from(vec!["FARGATE", "FARGATE_SPOT"]),
            ),
            ("default_capacity_provider_strategy", strategy(2, true)),
        ],
    )
    .await;
    let mut td_tagged = td_args(CONTAINERS_V1);
    td_tagged.push(("tags", Value::map([("Version", v("1"))])));
    h.update("aws_ecs_task_definition.api", &td_tagged).await;
    let containers_v2 = CONTAINERS_V1.replace("node:20-alpine", "node:22-alpine");
    let td = h
        .replace("aws_ecs_task_definition.api", &td_args(&containers_v2))
        .await;
    let td_v2 = td.get("arn").and_then(Value::as_str).unwrap().to_string();
    assert_ne!(td_v1, td_v2, "a new revision");
    h.update("aws_ecs_service.api", &service_args(&td_v2, 1))
        .await;

    println!("--- refresh after updates");
    h.refresh_all_and_compare().await;

    println!("--- delete");
    h.delete_all().await;
    let all = std::mem::take(&mut h.all);
    let mut types: Vec<String> = all
        .iter()
        .map(|(a, _, _)| a.block.type_name.clone())
        .collect();
    types.sort();
    types.dedup();
    for t in types {
        let left = h.refresh(&t, Harness::known(&all, &t)).await;
        assert!(left.is_empty(), "{t} left: {left:#?}");
    }
}
