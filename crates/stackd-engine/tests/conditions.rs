//! `precondition`, `postcondition`, output preconditions, `check` blocks
//! and module variables' validation rules, as Terraform runs them: at plan
//! when what they read is known, else at apply; checks only warn.

mod support;

use std::time::Duration;

use stackd_engine::plan::{PlanError, PlanMode};
use support::{FakeCloud, Harness};

fn plan_errors(r: Result<stackd_engine::plan::Plan, PlanError>) -> Vec<String> {
    match r {
        Err(PlanError::Spec(d)) => d.into_iter().map(|d| d.message).collect(),
        other => panic!("expected spec errors, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_known_precondition_that_fails_stops_the_plan_with_its_message() {
    let cloud = FakeCloud::new(Duration::from_millis(1));
    let h = Harness::new(
        r#"
locals {
  cidr = "10.0.0.0/8"
}

resource "test_net" "main" {
  cidr = local.cidr
  lifecycle {
    precondition {
      condition     = endswith(local.cidr, "/16")
      error_message = "The network must be a /16."
    }
  }
}
"#,
    );
    let errors = plan_errors(h.plan(&cloud, PlanMode::Normal).await);
    assert_eq!(
        errors,
        ["test_net.main: precondition failed: The network must be a /16."]
    );
    assert!(cloud.calls_matching("create").is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_unknown_precondition_is_checked_at_apply_and_blocks_only_its_instance() {
    let cloud = FakeCloud::new(Duration::from_millis(1));
    let h = Harness::new(
        r#"
resource "test_net" "main" {
  cidr = "10.0.0.0/16"
}

resource "test_node" "n" {
  net_id = test_net.main.id
  lifecycle {
    precondition {
      condition     = startswith(test_net.main.arn, "arn:other:")
      error_message = "The net is not in the other partition."
    }
  }
}
"#,
    );
    let (plan, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert_eq!(plan.counts(), (2, 0, 0));
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    let (addr, _, err) = &outcome.failed[0];
    assert_eq!(addr.to_string(), "test_node.n");
    assert!(
        err.to_string()
            .contains("The net is not in the other partition."),
        "{err}"
    );
    assert_eq!(cloud.ids_of_type("test_net").len(), 1);
    assert!(cloud.ids_of_type("test_node").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_postcondition_that_fails_keeps_the_object_and_holds_back_its_dependents() {
    let cloud = FakeCloud::new(Duration::from_millis(1));
    let h = Harness::new(
        r#"
resource "test_net" "main" {
  cidr = "10.0.0.0/16"
  lifecycle {
    postcondition {
      condition     = self.arn == "arn:expected"
      error_message = "Unexpected ARN ${self.arn}."
    }
  }
}

resource "test_node" "n" {
  net_id = test_net.main.id
}
"#,
    );
    let (_, outcome) = h.apply(&cloud, PlanMode::Normal).await;
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert!(
        outcome.failed[0]
            .2
            .to_string()
            .contains("Unexpected ARN arn:fake:test_net-1."),
        "{}",
        outcome.failed[0].2
    );
    assert_eq!(outcome.skipped.len(), 1, "{outcome:?}");
    // The object exists and is recorded, not forgotten.
    let state = h.state().await;
    assert!(state
        .resources
        .contains_key(&"test_net.main".parse().unwrap()));
    assert!(cloud.ids_of_type("test_node").is_empty());
    // The next plan checks it again, now that it is known, and fails.
    let errors = plan_errors(h.plan(&cloud, PlanMode::Normal).await);
    assert_eq!(
        errors,
        ["test_net.main: postcondition failed: Unexpected ARN arn:fake:test_net-1."]
    );
}

#[tokio::test(start_paused = true)]
async fn checks_warn_and_output_preconditions_stop_the_plan() {
    let cloud = FakeCloud::new(Duration::from_millis(1));
    let mut h = Harness::new(
        r#"
locals {
  replicas = 1
}

resource "test_net" "main" {
  cidr = "10.0.0.0/16"
}

check "replicas" {
  assert {
    condition     = local.replicas >= 2
    error_message = "One replica is not highly available."
  }
}
"#,
    );
    let plan = h
        .plan(&cloud, PlanMode::Normal)
        .await
        .expect("a check only warns");
    let warnings: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        warnings,
        ["check \"replicas\" failed: One replica is not highly available."]
    );
    h.set_spec(
        r#"
output "region" {
  value = "eu-west-1"
  precondition {
    condition     = false
    error_message = "Never."
  }
}
"#,
    );
    let errors = plan_errors(h.plan(&cloud, PlanMode::Normal).await);
    assert_eq!(errors, ["output \"region\": precondition failed: Never."]);
}

#[tokio::test(start_paused = true)]
async fn a_module_input_is_checked_by_the_module_variables_validation_rules() {
    let cloud = FakeCloud::new(Duration::from_millis(1));
    let mut h = Harness::new("");
    h.set_tree(&[
        (
            "main.tf",
            "module \"net\" {\n  source = \"./net\"\n  cidr   = \"10.0.0.0/8\"\n}\n",
        ),
        (
            "net/main.tf",
            r#"
variable "cidr" {
  type = string
  validation {
    condition     = endswith(var.cidr, "/16")
    error_message = "cidr must be a /16."
  }
}

resource "test_net" "main" {
  cidr = var.cidr
}
"#,
        ),
    ]);
    let errors = plan_errors(h.plan(&cloud, PlanMode::Normal).await);
    assert_eq!(
        errors,
        ["invalid value for module.net input \"cidr\": cidr must be a /16."]
    );
}
