//! Module calls planned and applied: addresses carry the module instance
//! path, values flow through inputs and outputs, `count`/`for_each` on
//! calls, and `moved` into a module.

mod support;

use std::time::Duration;

use stackd_engine::plan::{Action, PlanMode};
use stackd_spec::Value;
use support::{FakeCloud, Harness};

const ROOT: &str = r#"
locals {
  cidr = "10.0.0.0/16"
}

module "net" {
  source = "./modules/net"
  cidr   = local.cidr
}

module "nodes" {
  source   = "./modules/nodes"
  for_each = { a = 1, b = 2 }
  net_id   = module.net.id
  size     = each.value
}

output "net_id" {
  value = module.net.id
}

output "a_nodes" {
  value = module.nodes["a"].node_ids
}
"#;

const NET: &str = r#"
variable "cidr" {
  type = string
}

resource "test_net" "main" {
  cidr = var.cidr
  name = "net-${basename(path.module)}"
}

output "id" {
  value = test_net.main.id
}
"#;

const NODES: &str = r#"
variable "net_id" {
  type = string
}

variable "size" {
  type = number
}

variable "replicas" {
  type    = number
  default = 2
}

module "inner" {
  source = "../inner"
  net_id = var.net_id
}

resource "test_node" "this" {
  count  = var.replicas
  net_id = var.net_id
  size   = var.size * 10 + count.index
}

output "node_ids" {
  value = concat(test_node.this[*].id, [module.inner.id])
}
"#;

const INNER: &str = r#"
variable "net_id" {}

resource "test_node" "one" {
  net_id = var.net_id
}

output "id" {
  value = test_node.one.id
}
"#;

fn tree(root: &str) -> Vec<(&str, &str)> {
    vec![
        ("main.tf", root),
        ("modules/net/main.tf", NET),
        ("modules/nodes/main.tf", NODES),
        ("modules/inner/main.tf", INNER),
    ]
}

#[tokio::test(start_paused = true)]
async fn a_module_tree_applies_with_module_addresses_and_values_flowing_through() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new("");
    h.set_tree(&tree(ROOT));
    let (plan, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let addresses: Vec<String> = plan.entries.iter().map(|e| e.address.to_string()).collect();
    assert_eq!(
        addresses,
        [
            "module.net.test_net.main",
            "module.nodes[\"a\"].test_node.this[0]",
            "module.nodes[\"a\"].test_node.this[1]",
            "module.nodes[\"a\"].module.inner.test_node.one",
            "module.nodes[\"b\"].test_node.this[0]",
            "module.nodes[\"b\"].test_node.this[1]",
            "module.nodes[\"b\"].module.inner.test_node.one",
        ]
    );
    // The net is created first: every node waits for it through the inputs.
    assert_eq!(
        cloud.calls_matching("create")[0],
        "create module.net.test_net.main"
    );
    let state = h.state().await;
    let net = &state.resources[&"module.net.test_net.main".parse().unwrap()];
    assert_eq!(net.attrs.get("name"), Some(&Value::from("net-net")));
    for (key, size) in [("a", 10), ("b", 20)] {
        for i in 0..2 {
            let addr = format!("module.nodes[\"{key}\"].test_node.this[{i}]");
            let node = &state.resources[&addr.parse().unwrap()];
            assert_eq!(
                node.attrs.get("net_id").and_then(Value::as_str),
                Some(net.id.as_str()),
                "{addr}"
            );
            assert_eq!(
                node.attrs.get("size"),
                Some(&Value::from(size + i)),
                "{addr}"
            );
            assert!(
                node.dependencies
                    .contains(&"module.net.test_net.main".parse().unwrap()),
                "{addr}: {:?}",
                node.dependencies
            );
        }
        let inner = format!("module.nodes[\"{key}\"].module.inner.test_node.one");
        assert!(
            state.resources.contains_key(&inner.parse().unwrap()),
            "{inner}"
        );
    }
    // The address tag carries the module path.
    let tags = net.attrs.get("tags_all").unwrap();
    assert_eq!(
        tags.get("stackd:address").and_then(Value::as_str),
        Some("module.net.test_net.main")
    );
    assert_eq!(state.outputs["net_id"].value, Value::from(net.id.clone()),);
    let a_nodes = &state.outputs["a_nodes"].value;
    assert!(
        matches!(a_nodes, Value::List(l) if l.len() == 3 && l.iter().all(|v| v.as_str().is_some())),
        "{a_nodes:?}"
    );

    // Nothing to do on the next plan.
    let again = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert!(again.is_empty(), "{:?}", again.entries);

    // Destroy deletes the nodes before the net they use.
    let (_, outcome) = h.apply(&cloud, PlanMode::Destroy).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let deletes = cloud.calls_matching("delete");
    assert_eq!(deletes.len(), 7);
    assert_eq!(deletes.last().unwrap(), "delete module.net.test_net.main");
    assert!(cloud.ids_of_type("test_net").is_empty());
    assert!(cloud.ids_of_type("test_node").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_change_of_module_input_updates_only_that_module_and_dropping_an_instance_deletes_it() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new("");
    h.set_tree(&tree(ROOT));
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let changed = ROOT.replace("{ a = 1, b = 2 }", "{ a = 3 }");
    h.set_tree(&tree(&changed));
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    let actions: Vec<(String, Action)> = plan
        .entries
        .iter()
        .filter(|e| e.action != Action::NoOp)
        .map(|e| (e.address.to_string(), e.action))
        .collect();
    assert_eq!(
        actions,
        [
            (
                "module.nodes[\"a\"].test_node.this[0]".to_string(),
                Action::Update
            ),
            (
                "module.nodes[\"a\"].test_node.this[1]".to_string(),
                Action::Update
            ),
            (
                "module.nodes[\"b\"].test_node.this[0]".to_string(),
                Action::Delete
            ),
            (
                "module.nodes[\"b\"].test_node.this[1]".to_string(),
                Action::Delete
            ),
            (
                "module.nodes[\"b\"].module.inner.test_node.one".to_string(),
                Action::Delete
            ),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn moved_into_a_module_is_a_rename_not_a_replacement() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new("");
    h.set_tree(&[(
        "main.tf",
        "resource \"test_net\" \"main\" {\n  cidr = \"10.0.0.0/16\"\n  name = \"net-net\"\n}\n",
    )]);
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let id = cloud.ids_of_type("test_net");
    let root = "module \"net\" {\n  source = \"./modules/net\"\n  cidr   = \"10.0.0.0/16\"\n}\n\
                moved {\n  from = test_net.main\n  to   = module.net.test_net.main\n}\n";
    h.set_tree(&[("main.tf", root), ("modules/net/main.tf", NET)]);
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert_eq!(
        plan.moves,
        [(
            "test_net.main".parse().unwrap(),
            "module.net.test_net.main".parse().unwrap()
        )]
    );
    assert_eq!(plan.counts(), (0, 1, 0), "{:?}", plan.entries);
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(cloud.ids_of_type("test_net"), id);
    let state = h.state().await;
    assert!(state
        .resources
        .contains_key(&"module.net.test_net.main".parse().unwrap()));
    // A whole module renamed.
    let renamed =
        "module \"network\" {\n  source = \"./modules/net\"\n  cidr   = \"10.0.0.0/16\"\n}\n\
                   moved {\n  from = module.net\n  to   = module.network\n}\n";
    std::fs::remove_file(support::dir_of(&h).join("main.tf")).unwrap();
    h.set_tree(&[("main.tf", renamed), ("modules/net/main.tf", NET)]);
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert_eq!(plan.moves.len(), 1);
    // Only the address tag changes.
    assert_eq!(plan.counts(), (0, 1, 0), "{:?}", plan.entries);
    assert_eq!(plan.entries[0].changes[0].name, "tags_all");
}

#[tokio::test(start_paused = true)]
async fn a_module_count_that_depends_on_a_resource_is_an_error_naming_the_call() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new("");
    let root = "resource \"test_net\" \"n\" {\n  cidr = \"10.0.0.0/16\"\n}\n\
                module \"net\" {\n  source = \"./modules/net\"\n  count  = length(test_net.n.arn)\n  cidr   = \"10.1.0.0/16\"\n}\n";
    h.set_tree(&[("main.tf", root), ("modules/net/main.tf", NET)]);
    let err = match h.plan(&cloud, PlanMode::Normal).await {
        Err(stackd_engine::plan::PlanError::Spec(d)) => d,
        other => panic!("{other:?}"),
    };
    assert!(
        err.iter().any(|d| d
            .message
            .contains("count value depends on resource attributes")),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_removed_block_lets_go_of_an_object_and_later_plans_leave_it_alone() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new(
        "resource \"test_net\" \"main\" {\n  cidr = \"10.0.0.0/16\"\n}\n\
         resource \"test_net\" \"other\" {\n  cidr = \"10.1.0.0/16\"\n}\n",
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    h.set_spec(
        "resource \"test_net\" \"other\" {\n  cidr = \"10.1.0.0/16\"\n}\n\
         removed {\n  from = test_net.main\n  lifecycle {\n    destroy = false\n  }\n}\n",
    );
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert_eq!(plan.forgets, ["test_net.main".parse().unwrap()]);
    assert_eq!(plan.counts(), (0, 0, 0), "{:?}", plan.entries);
    assert!(!plan.is_empty());
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(cloud.ids_of_type("test_net").len(), 2, "the object is left");
    let state = h.state().await;
    assert!(!state
        .resources
        .contains_key(&"test_net.main".parse().unwrap()));
    assert_eq!(state.released.len(), 1);
    // Still tagged as the stack's, but never taken for a leftover: neither
    // the next plan nor destroy touches it.
    h.set_spec("resource \"test_net\" \"other\" {\n  cidr = \"10.1.0.0/16\"\n}\n");
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert!(plan.is_empty(), "{:?}", plan.entries);
    let (_, outcome) = h.apply(&cloud, PlanMode::Destroy).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(
        cloud.ids_of_type("test_net").len(),
        1,
        "the released object stays"
    );
}

/// Two modules reading each other's outputs (no cycle between the values
/// themselves): planned once each, not evaluated again and again.
#[tokio::test(start_paused = true)]
async fn modules_reading_each_others_outputs_plan_and_apply() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new("");
    h.set_tree(&[
        (
            "main.tf",
            "module \"a\" {\n  source = \"./a\"\n  name   = \"10.0.0.0/16\"\n  peer   = module.b.id\n  peer2  = module.b.id2\n}\n\
             module \"b\" {\n  source = \"./b\"\n  cidr   = module.a.name\n}\n",
        ),
        (
            "a/main.tf",
            "variable \"name\" {}\nvariable \"peer\" {}\nvariable \"peer2\" {}\n\
             resource \"test_node\" \"a\" {\n  net_id = \"${var.peer}/${var.peer2}\"\n}\n\
             output \"name\" {\n  value = var.name\n}\n",
        ),
        (
            "b/main.tf",
            "variable \"cidr\" {}\n\
             resource \"test_net\" \"b\" {\n  cidr = var.cidr\n}\n\
             resource \"test_net\" \"b2\" {\n  cidr = var.cidr\n}\n\
             output \"id\" {\n  value = test_net.b.id\n}\n\
             output \"id2\" {\n  value = test_net.b2.id\n}\n",
        ),
    ]);
    let (plan, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(plan.counts(), (3, 0, 0));
    let state = h.state().await;
    let b = &state.resources[&"module.b.test_net.b".parse().unwrap()];
    assert_eq!(b.attrs.get("cidr"), Some(&Value::from("10.0.0.0/16")));
    let node = &state.resources[&"module.a.test_node.a".parse().unwrap()];
    let b2 = &state.resources[&"module.b.test_net.b2".parse().unwrap()];
    assert_eq!(
        node.attrs.get("net_id").and_then(Value::as_str),
        Some(format!("{}/{}", b.id, b2.id).as_str())
    );
    assert!(h.plan(&cloud, PlanMode::Normal).await.unwrap().is_empty());
}

/// What `stackd import` records as an imported object's dependencies,
/// from the spec and the state alone, is what an apply records for it.
#[tokio::test(start_paused = true)]
async fn dependencies_found_from_the_spec_are_those_an_apply_records() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new("");
    h.set_tree(&tree(ROOT));
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let state = h.state().await;
    let graph = stackd_engine::tree::Graph::new(&h.config);
    let mut with_deps = 0;
    for (address, recorded) in &state.resources {
        let mut applied = recorded.dependencies.clone();
        applied.sort();
        assert_eq!(
            graph.recorded_deps(address, state.resources.keys()),
            applied,
            "{address}"
        );
        with_deps += usize::from(!applied.is_empty());
    }
    assert!(with_deps >= 4, "the nodes depend on the net: {state:?}");
}
