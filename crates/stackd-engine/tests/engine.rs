//! Engine behaviour against a fake provider: ordering, parallelism,
//! failure isolation, interruption, drift, adoption and replacement.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use stackd_engine::plan::{Action, PlanMode, Reason};
use stackd_engine::state::StateBackend;
use stackd_spec::Value;
use support::{FakeCloud, Harness};

const NET_AND_NODES: &str = r#"
resource "test_net" "main" {
  cidr = "10.0.0.0/16"
  name = "main"
}
resource "test_node" "n" {
  count  = 3
  net_id = test_net.main.id
  size   = count.index + 1
}
"#;

#[tokio::test(start_paused = true)]
async fn dependents_are_created_after_their_dependencies() {
    let cloud = FakeCloud::new(Duration::from_secs(1));
    let h = Harness::new(NET_AND_NODES);
    let (plan, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(plan.counts(), (4, 0, 0));
    let creates = cloud.calls_matching("create");
    assert_eq!(creates[0], "create test_net.main");
    let state = h.state().await;
    let net_id = &state.resources[&"test_net.main".parse().unwrap()].id;
    for i in 0..3 {
        let node = &state.resources[&format!("test_node.n[{i}]").parse().unwrap()];
        assert_eq!(
            node.attrs.get("net_id").and_then(Value::as_str),
            Some(net_id.as_str())
        );
        assert_eq!(node.attrs.get("size"), Some(&Value::from(i + 1)));
    }
}

#[tokio::test(start_paused = true)]
async fn a_second_plan_after_apply_is_empty() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let h = Harness::new(NET_AND_NODES);
    h.apply(&cloud, PlanMode::Normal).await;
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert!(plan.is_empty(), "{:#?}", plan.entries);
    // One refresh per resource type, not per resource.
    let refreshes = cloud.calls_matching("refresh");
    assert_eq!(refreshes.len(), 4, "{refreshes:?}"); // two types, two plans
}

#[tokio::test(start_paused = true)]
async fn the_chain_longest_by_modelled_duration_starts_first() {
    let cloud = FakeCloud::new(Duration::from_secs(1));
    cloud
        .slow_types
        .lock()
        .unwrap()
        .insert("test_revision".into(), Duration::from_secs(100));
    // Two steps of fast types against one slow step: by count the pair
    // would go first; by the model, the slow one.
    let h = Harness::new(
        r#"
resource "test_net" "a" {
  cidr = "10.0.0.0/16"
}
resource "test_node" "a" {
  net_id = test_net.a.id
}
resource "test_revision" "slow" {
  body = "x"
}
"#,
    );
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let (_, outcome) = h.apply_with(&cloud, PlanMode::Normal, 1, rx).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let creates = cloud.calls_matching("create");
    assert_eq!(creates[0], "create test_revision.slow", "{creates:?}");
}

#[tokio::test(start_paused = true)]
async fn a_step_waiting_for_the_cloud_gives_its_slot_to_other_steps() {
    let cloud = FakeCloud::new(Duration::from_secs(1));
    cloud
        .slow_types
        .lock()
        .unwrap()
        .insert("test_revision".into(), Duration::from_secs(100));
    let h = Harness::new(
        r#"
resource "test_revision" "r" {
  count = 3
  body  = "r${count.index}"
}
resource "test_net" "n" {
  count = 5
  cidr  = "10.${count.index}.0.0/16"
}
"#,
    );
    let start = tokio::time::Instant::now();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let (_, outcome) = h.apply_with(&cloud, PlanMode::Normal, 1, rx).await;
    assert!(outcome.is_success(), "{outcome:?}");
    // One slot: never two calls at once...
    assert_eq!(cloud.max_in_flight.load(Ordering::SeqCst), 1);
    // ...but the three waits overlap each other and the other creates:
    // held slots would take 3 x 101 + 5 = 308 s.
    let took = start.elapsed();
    assert!(took < Duration::from_secs(110), "took {took:?}");
    assert_eq!(h.state().await.resources.len(), 8);
}

#[tokio::test(start_paused = true)]
async fn parallelism_limits_operations_in_flight() {
    let cloud = FakeCloud::new(Duration::from_secs(5));
    let h = Harness::new(
        r#"
resource "test_net" "many" {
  count = 12
  cidr  = "10.${count.index}.0.0/16"
}
"#,
    );
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let (_, outcome) = h.apply_with(&cloud, PlanMode::Normal, 3, rx).await;
    assert!(outcome.is_success());
    assert_eq!(cloud.max_in_flight.load(Ordering::SeqCst), 3);
    assert_eq!(h.state().await.resources.len(), 12);
}

#[tokio::test(start_paused = true)]
async fn a_failure_stops_only_its_dependents() {
    let cloud = FakeCloud::new(Duration::from_millis(100));
    cloud
        .fail_create
        .lock()
        .unwrap()
        .insert("test_net.bad".into());
    let h = Harness::new(
        r#"
resource "test_net" "bad" { cidr = "10.1.0.0/16" }
resource "test_node" "on_bad" { net_id = test_net.bad.id }
resource "test_net" "good" { cidr = "10.2.0.0/16" }
resource "test_node" "on_good" { net_id = test_net.good.id }
"#,
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].0.to_string(), "test_net.bad");
    assert_eq!(outcome.skipped.len(), 1);
    assert_eq!(outcome.skipped[0].0.to_string(), "test_node.on_bad");
    let state = h.state().await;
    let recorded: Vec<String> = state.resources.keys().map(ToString::to_string).collect();
    assert_eq!(recorded, vec!["test_net.good", "test_node.on_good"]);
}

#[tokio::test(start_paused = true)]
async fn interruption_finishes_work_in_flight_and_records_it() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    let h = Harness::new(
        r#"
resource "test_net" "a" {
  count = 6
  cidr  = "10.${count.index}.0.0/16"
}
"#,
    );
    let (tx, rx) = tokio::sync::watch::channel(false);
    let cancel = async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(true).unwrap();
    };
    let ((_, outcome), ()) = tokio::join!(h.apply_with(&cloud, PlanMode::Normal, 2, rx), cancel);
    assert!(outcome.interrupted);
    // The two in flight when interrupted finished and are in state.
    assert_eq!(outcome.done.len(), 2);
    assert_eq!(outcome.skipped.len(), 4);
    assert_eq!(h.state().await.resources.len(), 2);
    assert_eq!(cloud.ids_of_type("test_net").len(), 2);
    // Running again completes the rest without duplicating anything.
    let (plan, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success());
    assert_eq!(plan.counts(), (4, 0, 0));
    assert_eq!(cloud.ids_of_type("test_net").len(), 6);
}

#[tokio::test(start_paused = true)]
async fn an_object_created_but_not_recorded_is_adopted_not_duplicated() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let h = Harness::new(NET_AND_NODES);
    h.apply(&cloud, PlanMode::Normal).await;
    // Forget the objects but keep the state's identity, as a crash between
    // a create and the save recording it would.
    let mut state = h.state().await;
    state.resources.clear();
    h.backend.save(&mut state).await.unwrap();
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert_eq!(plan.counts(), (0, 0, 0));
    assert!(plan
        .entries
        .iter()
        .all(|e| e.reasons.contains(&Reason::Adopted)));
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success());
    assert_eq!(h.state().await.resources.len(), 4);
    assert_eq!(cloud.objects.lock().unwrap().len(), 4);
    assert!(h.plan(&cloud, PlanMode::Normal).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn drift_and_out_of_band_deletion_are_planned() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let h = Harness::new(NET_AND_NODES);
    h.apply(&cloud, PlanMode::Normal).await;
    let state = h.state().await;
    let net = state.resources[&"test_net.main".parse().unwrap()]
        .id
        .clone();
    let node0 = state.resources[&"test_node.n[0]".parse().unwrap()]
        .id
        .clone();
    cloud.tamper(&net, "name", Value::from("renamed"));
    cloud.objects.lock().unwrap().remove(&node0);
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    let net_entry = plan.entry(&"test_net.main".parse().unwrap()).unwrap();
    assert_eq!(net_entry.action, Action::Update);
    assert_eq!(net_entry.changes[0].name, "name");
    assert_eq!(net_entry.changes[0].before, Value::from("renamed"));
    let node_entry = plan.entry(&"test_node.n[0]".parse().unwrap()).unwrap();
    assert_eq!(node_entry.action, Action::Create);
    assert_eq!(node_entry.reasons, vec![Reason::DeletedOutside]);
    h.apply(&cloud, PlanMode::Normal).await;
    assert!(h.plan(&cloud, PlanMode::Normal).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_force_new_change_replaces_and_cascades_to_dependents() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new(NET_AND_NODES);
    h.apply(&cloud, PlanMode::Normal).await;
    h.set_spec(&NET_AND_NODES.replace("10.0.0.0/16", "10.9.0.0/16"));
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert_eq!(plan.counts(), (4, 0, 4));
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    // Dependents were deleted before the net they used, and the new net
    // was created before the new dependents.
    let calls = cloud.calls.lock().unwrap().clone();
    let pos = |c: &str| calls.iter().rposition(|x| x == c).unwrap();
    assert!(pos("delete test_node.n[0]") < pos("delete test_net.main"));
    assert!(pos("delete test_net.main") < pos("create test_net.main"));
    assert!(pos("create test_net.main") < pos("create test_node.n[0]"));
    assert_eq!(cloud.objects.lock().unwrap().len(), 4);
    assert!(h.plan(&cloud, PlanMode::Normal).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn create_before_destroy_creates_the_new_object_first() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let spec = r#"
resource "test_net" "main" {
  cidr = "10.0.0.0/16"
  lifecycle { create_before_destroy = true }
}
"#;
    let mut h = Harness::new(spec);
    h.apply(&cloud, PlanMode::Normal).await;
    h.set_spec(&spec.replace("10.0.0.0/16", "10.1.0.0/16"));
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success());
    let calls = cloud.calls.lock().unwrap().clone();
    let create = calls
        .iter()
        .rposition(|x| x == "create test_net.main")
        .unwrap();
    let delete = calls
        .iter()
        .rposition(|x| x == "delete test_net.main")
        .unwrap();
    assert!(create < delete, "{calls:?}");
    let state = h.state().await;
    assert_eq!(state.resources.len(), 1);
    assert_eq!(cloud.objects.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn destroy_goes_in_reverse_order_and_retries_dependency_violations() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let h = Harness::new(NET_AND_NODES);
    h.apply(&cloud, PlanMode::Normal).await;
    cloud
        .transient_delete_failures
        .lock()
        .unwrap()
        .insert("test_net.main".into(), 2);
    let (plan, outcome) = h.apply(&cloud, PlanMode::Destroy).await;
    assert_eq!(plan.counts(), (0, 0, 4));
    assert!(outcome.is_success(), "{outcome:?}");
    assert!(cloud.objects.lock().unwrap().is_empty());
    assert!(h.state().await.resources.is_empty());
    let deletes = cloud.calls_matching("delete test_net.main");
    assert_eq!(deletes.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn removing_a_block_deletes_its_instances() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new(NET_AND_NODES);
    h.apply(&cloud, PlanMode::Normal).await;
    h.set_spec(&NET_AND_NODES.replace("count  = 3", "count  = 1"));
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert_eq!(plan.counts(), (0, 0, 2));
    assert!(plan
        .entries
        .iter()
        .filter(|e| e.action == Action::Delete)
        .all(|e| e.reasons == vec![Reason::RemovedFromSpec]));
}

#[tokio::test(start_paused = true)]
async fn prevent_destroy_refuses_a_plan_that_would_destroy() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let h = Harness::new(
        r#"
resource "test_net" "keep" {
  cidr = "10.0.0.0/16"
  lifecycle { prevent_destroy = true }
}
"#,
    );
    h.apply(&cloud, PlanMode::Normal).await;
    let err = h.plan(&cloud, PlanMode::Destroy).await.unwrap_err();
    match err {
        stackd_engine::plan::PlanError::Spec(d) => {
            assert!(d[0].message.contains("prevent_destroy"), "{d:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn another_stacks_objects_are_never_adopted_even_if_the_cloud_returns_them() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut other = Harness::new(NET_AND_NODES);
    other.settings.stack = "other".into();
    other.apply(&cloud, PlanMode::Normal).await;
    cloud.ignore_tag_filter.store(true, Ordering::SeqCst);
    let h = Harness::new(NET_AND_NODES);
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    // Everything is new for this stack; nothing of "other" is adopted or deleted.
    assert_eq!(plan.counts(), (4, 0, 0));
    assert!(
        plan.entries.iter().all(|e| e.reasons == vec![Reason::New]),
        "{:#?}",
        plan.entries
    );
    h.apply(&cloud, PlanMode::Normal).await;
    assert_eq!(cloud.objects.lock().unwrap().len(), 8);
}

#[tokio::test]
async fn a_failing_provisioner_taints_and_the_next_plan_replaces() {
    let cloud = FakeCloud::new(Duration::from_millis(1));
    let mut h = Harness::new(
        r#"
resource "test_net" "n" {
  cidr = "10.0.0.0/16"
  provisioner "local-exec" {
    command     = "echo configuring ${self.cidr}; test -n \"$OK\""
    environment = { OK = "" }
  }
}
resource "test_node" "after" { net_id = test_net.n.id }
"#,
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert_eq!(
        outcome.skipped.len(),
        1,
        "the dependent waits for a healthy net"
    );
    let state = h.state().await;
    let net = &state.resources[&"test_net.n".parse().unwrap()];
    assert!(net.tainted, "created but tainted");
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    let e = plan.entry(&"test_net.n".parse().unwrap()).unwrap();
    assert_eq!(e.action, Action::Replace);
    assert_eq!(e.reasons, vec![Reason::Tainted]);
    // Fixed: the replacement runs the provisioner again and succeeds.
    h.set_spec(
        r#"
resource "test_net" "n" {
  cidr = "10.0.0.0/16"
  provisioner "local-exec" {
    command     = "test -n \"$OK\""
    environment = { OK = "yes" }
  }
}
resource "test_node" "after" { net_id = test_net.n.id }
"#,
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert!(!h.state().await.resources[&"test_net.n".parse().unwrap()].tainted);
    assert_eq!(
        cloud.ids_of_type("test_net").len(),
        1,
        "the tainted object was replaced, not kept"
    );
}

#[tokio::test(start_paused = true)]
async fn a_type_that_replaces_by_creating_first_moves_dependents_before_deleting() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let spec = r#"
resource "test_revision" "r" { body = "v1" }
resource "test_net" "user" {
  cidr = "10.0.0.0/16"
  name = test_revision.r.arn
}
"#;
    let mut h = Harness::new(spec);
    h.apply(&cloud, PlanMode::Normal).await;
    h.set_spec(&spec.replace("v1", "v2"));
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    let r = plan.entry(&"test_revision.r".parse().unwrap()).unwrap();
    assert_eq!((r.action, r.create_before_destroy), (Action::Replace, true));
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let calls = cloud.calls.lock().unwrap().clone();
    let at = |c: &str| calls.iter().rposition(|x| x == c).unwrap();
    assert!(at("create test_revision.r") < at("update test_net.user"));
    assert!(
        at("update test_net.user") < at("delete test_revision.r"),
        "{calls:?}"
    );
    // The new revision stays in state although it shares the old one's ID,
    // and only the old revision was deleted.
    let state = h.state().await;
    let r = &state.resources[&"test_revision.r".parse().unwrap()];
    assert_eq!(r.attrs.get("body"), Some(&Value::from("v2")));
    assert_eq!(cloud.ids_of_type("test_revision").len(), 1);
    assert!(h.plan(&cloud, PlanMode::Normal).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_reports_every_problem_and_changes_nothing() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let h = Harness::new(
        r#"
resource "test_net" "a" {
  cidr = "10.0.0.0/16"
  name = "taken"
}
resource "test_net" "b" {
  cidr = "10.1.0.0/16"
  name = "free"
}
resource "test_node" "n" {
  net_id = test_net.b.id
  size   = 13
}
"#,
    );
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    let report = stackd_engine::check::check_plan(&plan, cloud.clone()).await;
    assert_eq!(report.checked, 3);
    assert!(!report.passes());
    let found: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|(a, f)| (a.to_string(), f.check.clone()))
        .collect();
    assert_eq!(
        found,
        vec![("test_net.a".to_string(), "name_taken".to_string())]
    );
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].0.to_string(), "test_node.n");
    assert!(cloud.calls_matching("create").is_empty());
    assert!(cloud.ids_of_type("test_net").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_copy_of_the_spec_under_the_same_stack_name_never_touches_the_first_copys_objects() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    // Two spec directories with the same base name: the same stack name,
    // two states, two identities.
    let first = Harness::new(NET_AND_NODES);
    let second = Harness::new(NET_AND_NODES);
    assert_eq!(first.settings.stack, second.settings.stack);
    first.apply(&cloud, PlanMode::Normal).await;
    let first_ids = cloud.ids_of_type("test_net");

    let plan = second.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert_eq!(plan.counts(), (4, 0, 0), "{:#?}", plan.entries);
    assert!(
        plan.entries.iter().all(|e| e.reasons == vec![Reason::New]),
        "the second copy neither adopts nor deletes the first's objects: {:#?}",
        plan.entries
    );
    second.apply(&cloud, PlanMode::Normal).await;
    assert_eq!(cloud.objects.lock().unwrap().len(), 8);

    // The first copy sees nothing of the second's.
    assert!(first
        .plan(&cloud, PlanMode::Normal)
        .await
        .unwrap()
        .is_empty());
    // Destroying the second leaves the first's objects in place.
    let (_, outcome) = second.apply(&cloud, PlanMode::Destroy).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(cloud.objects.lock().unwrap().len(), 4);
    assert_eq!(cloud.ids_of_type("test_net"), first_ids);
    assert!(first
        .plan(&cloud, PlanMode::Normal)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_lost_state_is_adopted_only_with_an_explicit_stack_name_and_says_how_many() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new(NET_AND_NODES);
    h.apply(&cloud, PlanMode::Normal).await;
    std::fs::remove_file(h.dir.path().join("stackd.state.json")).unwrap();

    // With the name derived from the directory, another identity: nothing
    // of the old objects is adopted or deleted.
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert_eq!(plan.counts(), (4, 0, 0));
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);

    // Named explicitly, with no state: adopted, and the plan says how many.
    h.settings.explicit_stack = true;
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    // Adopted in place: only the identity tag changes.
    assert_eq!(plan.counts(), (0, 4, 0), "{:#?}", plan.entries);
    assert!(plan
        .entries
        .iter()
        .all(|e| e.reasons.contains(&Reason::Adopted)
            && e.changes
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                == ["tags_all"]));
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].message.contains("adopting 4 object(s)"),
        "{}",
        plan.warnings[0].message
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(cloud.objects.lock().unwrap().len(), 4);
    // Adopted objects now carry the new state's identity: the next plan, by
    // identity, is empty.
    assert!(h.plan(&cloud, PlanMode::Normal).await.unwrap().is_empty());
    let lineage = h.state().await.lineage;
    for (_, (_, v)) in cloud.objects.lock().unwrap().iter() {
        assert_eq!(
            v.get("tags_all")
                .and_then(|t| t.get("stackd:stack-id"))
                .and_then(Value::as_str),
            Some(lineage.as_str())
        );
    }
}

#[tokio::test(start_paused = true)]
async fn untracked_objects_found_by_name_alone_are_never_planned_for_deletion() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let mut h = Harness::new(NET_AND_NODES);
    h.apply(&cloud, PlanMode::Normal).await;
    std::fs::remove_file(h.dir.path().join("stackd.state.json")).unwrap();
    h.settings.explicit_stack = true;
    h.set_spec(
        r#"
resource "test_net" "main" {
  cidr = "10.0.0.0/16"
  name = "main"
}
resource "test_node" "n" {
  count  = 1
  net_id = test_net.main.id
  size   = 1
}
"#,
    );
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert!(
        plan.entries.iter().all(|e| e.action != Action::Delete),
        "{:#?}",
        plan.entries
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.message.contains("2 object(s)") && w.message.contains("left alone")),
        "{:?}",
        plan.warnings
    );
}

/// As in Terraform, a data source that depends on an object with changes
/// pending is read at apply, after them; once nothing is pending it is read
/// while planning.
#[tokio::test(start_paused = true)]
async fn a_data_source_waits_for_the_changes_it_depends_on() {
    let cloud = FakeCloud::new(Duration::from_millis(1));
    let h = Harness::new(
        r#"
resource "test_net" "main" {
  cidr = "10.0.0.0/16"
  name = "main"
}

data "test_lookup" "net" {
  name       = test_net.main.name
  depends_on = [test_net.main]
}

data "test_lookup" "free" {
  name = "free"
}
"#,
    );
    let plan = h.plan(&cloud, PlanMode::Normal).await.expect("plan");
    let read = |plan: &stackd_engine::plan::Plan, addr: &str| {
        plan.entries
            .iter()
            .find(|e| e.address.to_string() == addr)
            .map(|e| (e.action, e.reasons.clone()))
    };
    assert_eq!(
        read(&plan, "data.test_lookup.net"),
        Some((Action::Read, vec![Reason::DataAfterChanges]))
    );
    assert_eq!(read(&plan, "data.test_lookup.free"), None);
    assert_eq!(cloud.calls_matching("read"), ["read data.test_lookup.free"]);

    h.apply(&cloud, PlanMode::Normal).await;
    let plan = h.plan(&cloud, PlanMode::Normal).await.expect("plan");
    assert_eq!(read(&plan, "data.test_lookup.net"), None);
    assert_eq!(
        plan.data
            .iter()
            .find(|(a, _)| a.to_string() == "data.test_lookup.net")
            .and_then(|(_, v)| v.get("found").cloned()),
        Some(Value::from("main!"))
    );
}

/// `test_node.n[count.index]` reads one net, not all of them: each node
/// depends on its own net only, and the dependencies of a block read whole
/// (a splat, or a local in between) are still every instance.
#[tokio::test(start_paused = true)]
async fn an_instance_reading_its_own_instance_of_a_block_depends_on_that_one() {
    let cloud = FakeCloud::new(Duration::from_millis(10));
    let h = Harness::new(
        r#"
resource "test_net" "n" {
  count = 3
  cidr  = "10.${count.index}.0.0/16"
}

resource "test_net" "keyed" {
  for_each = toset(["a", "b"])
  cidr     = "10.1${each.key == "a" ? 0 : 1}.0.0/16"
}

locals {
  first = test_net.n[0].id
}

resource "test_node" "one" {
  count  = 3
  net_id = test_net.n[count.index].id
}

resource "test_node" "keyed" {
  for_each = toset(["a", "b"])
  net_id   = test_net.keyed[each.key].id
}

resource "test_node" "all" {
  count  = 3
  net_id = join(",", test_net.n[*].id)
}

resource "test_node" "through_a_local" {
  count  = 3
  net_id = "${local.first}-${test_net.n[count.index].id}"
}
"#,
    );
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    let deps = |address: &str| -> Vec<String> {
        let e = plan
            .entries
            .iter()
            .find(|e| e.address.to_string() == address)
            .unwrap_or_else(|| panic!("no entry for {address}"));
        e.dependencies.iter().map(|d| d.to_string()).collect()
    };
    assert_eq!(deps("test_node.one[1]"), ["test_net.n[1]"]);
    assert_eq!(deps("test_node.keyed[\"b\"]"), ["test_net.keyed[\"b\"]"]);
    let all = ["test_net.n[0]", "test_net.n[1]", "test_net.n[2]"];
    assert_eq!(deps("test_node.all[0]"), all);
    assert_eq!(deps("test_node.through_a_local[2]"), all);
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
}

/// The position of the first call equal to `call`.
fn position(calls: &[String], call: &str) -> usize {
    calls
        .iter()
        .position(|c| c == call)
        .unwrap_or_else(|| panic!("no call {call:?} in {calls:?}"))
}

#[tokio::test(start_paused = true)]
async fn a_dependent_needing_only_what_a_create_reported_usable_starts_before_it_finishes() {
    let cloud = FakeCloud::new(Duration::from_secs(1));
    // test_net reports its ID usable after its create call, then works 100 s more.
    cloud
        .usable_early
        .lock()
        .unwrap()
        .insert("test_net".into(), Duration::from_secs(100));
    let h = Harness::new(
        r#"
resource "test_net" "n" { cidr = "10.0.0.0/16" }
resource "test_node" "by_id" { net_id = test_net.n.id }
resource "test_node" "by_cidr" { net_id = "${test_net.n.cidr}-${test_net.n.id}" }
resource "test_node" "by_arn" { net_id = test_net.n.arn }
resource "test_node" "held" {
  net_id     = test_net.n.id
  depends_on = [test_net.n]
}
resource "test_revision" "held_type" { body = test_net.n.id }
resource "test_node" "checked" {
  net_id = test_net.n.id
  lifecycle {
    precondition {
      condition     = test_net.n.arn != ""
      error_message = "no arn"
    }
  }
}
"#,
    );
    let start = tokio::time::Instant::now();
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let calls = cloud.calls.lock().unwrap().clone();
    let finished = position(&calls, "finished test_net.n");
    // The ID and the configured arguments are known once it is usable.
    for early in ["test_node.by_id", "test_node.by_cidr"] {
        assert!(
            position(&calls, &format!("create {early}")) < finished,
            "{calls:?}"
        );
    }
    // An attribute not reported, depends_on, a condition and a type the
    // create holds back wait for the end.
    for held in [
        "test_node.by_arn",
        "test_node.held",
        "test_node.checked",
        "test_revision.held_type",
    ] {
        assert!(
            position(&calls, &format!("create {held}")) > finished,
            "{calls:?}"
        );
    }
    // Two calls of 1 s, the 100 s, then the held ones: not 100 s twice.
    assert!(
        start.elapsed() < Duration::from_secs(110),
        "{:?}",
        start.elapsed()
    );
    let state = h.state().await;
    let net = &state.resources[&"test_net.n".parse().unwrap()];
    let net_of = |a: &str| {
        state.resources[&a.parse().unwrap()]
            .attrs
            .get("net_id")
            .and_then(Value::as_str)
            .unwrap()
            .to_string()
    };
    assert_eq!(net_of("test_node.by_id"), net.id);
    assert_eq!(
        net_of("test_node.by_cidr"),
        format!("10.0.0.0/16-{}", net.id)
    );
    assert_eq!(
        net_of("test_node.by_arn"),
        net.attrs.get("arn").and_then(Value::as_str).unwrap()
    );
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert!(plan.is_empty(), "{:#?}", plan.entries);
}

#[tokio::test(start_paused = true)]
async fn a_create_failing_after_it_reported_usable_keeps_what_started_and_skips_the_rest() {
    let cloud = FakeCloud::new(Duration::from_secs(1));
    cloud
        .usable_early
        .lock()
        .unwrap()
        .insert("test_net".into(), Duration::from_secs(100));
    cloud
        .fail_after_usable
        .lock()
        .unwrap()
        .insert("test_net.n".into());
    let h = Harness::new(
        r#"
resource "test_net" "n" { cidr = "10.0.0.0/16" }
resource "test_node" "early" { net_id = test_net.n.id }
resource "test_node" "late" { net_id = test_net.n.arn }
"#,
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    let failed: Vec<String> = outcome.failed.iter().map(|f| f.0.to_string()).collect();
    assert_eq!(failed, ["test_net.n"]);
    let skipped: Vec<String> = outcome.skipped.iter().map(|s| s.0.to_string()).collect();
    assert_eq!(skipped, ["test_node.late"]);
    // The dependent that started early finished and is recorded.
    let done: Vec<String> = outcome.done.iter().map(|d| d.0.to_string()).collect();
    assert_eq!(done, ["test_node.early"]);
    assert!(h
        .state()
        .await
        .resources
        .contains_key(&"test_node.early".parse().unwrap()));
    // The next run finds the object that was left in place instead of
    // making a second one, and finishes the rest.
    cloud.fail_after_usable.lock().unwrap().clear();
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(cloud.ids_of_type("test_net").len(), 1);
    assert_eq!(cloud.ids_of_type("test_node").len(), 2);
    let plan = h.plan(&cloud, PlanMode::Normal).await.unwrap();
    assert!(plan.is_empty(), "{:#?}", plan.entries);
}

#[tokio::test(start_paused = true)]
async fn what_waits_in_full_for_a_dependent_started_early_waits_for_its_dependencies_too() {
    let cloud = FakeCloud::new(Duration::from_secs(1));
    cloud
        .usable_early
        .lock()
        .unwrap()
        .insert("test_net".into(), Duration::from_secs(100));
    cloud
        .fail_after_usable
        .lock()
        .unwrap()
        .insert("test_net.n".into());
    // `early` starts and finishes while test_net.n still works; `after`
    // waits for it in full, so for test_net.n too, which then fails.
    let h = Harness::new(
        r#"
resource "test_net" "n" { cidr = "10.0.0.0/16" }
resource "test_node" "early" { net_id = test_net.n.id }
resource "test_node" "after" {
  net_id     = "x"
  depends_on = [test_node.early]
}
"#,
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    let done: Vec<String> = outcome.done.iter().map(|d| d.0.to_string()).collect();
    assert_eq!(done, ["test_node.early"]);
    let skipped: Vec<String> = outcome.skipped.iter().map(|s| s.0.to_string()).collect();
    assert_eq!(skipped, ["test_node.after"]);
    assert!(cloud.calls_matching("create test_node.after").is_empty());
    // Without the failure it starts once test_net.n has finished.
    cloud.fail_after_usable.lock().unwrap().clear();
    let h = Harness::new(
        r#"
resource "test_net" "m" { cidr = "10.1.0.0/16" }
resource "test_node" "early" { net_id = test_net.m.id }
resource "test_node" "after" {
  net_id     = "x"
  depends_on = [test_node.early]
}
"#,
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let calls = cloud.calls.lock().unwrap().clone();
    let finished = position(&calls, "finished test_net.m");
    assert!(
        position(&calls, "create test_node.after") > finished,
        "{calls:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_create_with_a_postcondition_holds_its_dependents_until_it_holds() {
    let cloud = FakeCloud::new(Duration::from_secs(1));
    cloud
        .usable_early
        .lock()
        .unwrap()
        .insert("test_net".into(), Duration::from_secs(100));
    let h = Harness::new(
        r#"
resource "test_net" "n" {
  cidr = "10.0.0.0/16"
  lifecycle {
    postcondition {
      condition     = self.arn == "arn:expected"
      error_message = "not the expected net"
    }
  }
}
resource "test_node" "x" { net_id = test_net.n.id }
"#,
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    let failed: Vec<String> = outcome.failed.iter().map(|f| f.0.to_string()).collect();
    assert_eq!(failed, ["test_net.n"]);
    let skipped: Vec<String> = outcome.skipped.iter().map(|s| s.0.to_string()).collect();
    assert_eq!(skipped, ["test_node.x"]);
    assert!(cloud.calls_matching("create test_node.x").is_empty());
}
