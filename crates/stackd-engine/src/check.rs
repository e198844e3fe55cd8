//! The dry run: every planned change checked against the cloud through
//! [`Provider::check`], without changing anything. Checks run concurrently
//! (bounded) and all of them run: one report lists every problem found.

use std::sync::Arc;

use stackd_spec::Address;
use tokio::sync::Semaphore;

use crate::plan::{Action, Plan};
use crate::provider::{
    CheckRequest, CheckedChange, Finding, Owner, PlannedObject, Provider, ProviderError, Severity,
};

/// How many checks run at once.
pub const CHECK_CONCURRENCY: usize = 8;

/// What the dry run found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// How many planned changes were checked.
    pub checked: usize,
    /// Findings, by address, in plan order.
    pub findings: Vec<(Address, Finding)>,
    /// Checks that could not be made (a read was refused or failed).
    pub failures: Vec<(Address, ProviderError)>,
    /// A check task ended without a result (it panicked): the report is
    /// incomplete and does not pass.
    pub incomplete: bool,
}

impl CheckReport {
    /// True when the plan would go through: no error finding and every
    /// check made.
    pub fn passes(&self) -> bool {
        self.failures.is_empty()
            && !self.incomplete
            && !self
                .findings
                .iter()
                .any(|(_, f)| f.severity == Severity::Error)
    }
}

/// The check request for a plan entry, or `None` for one that changes
/// nothing in the cloud. A replacement is checked as the create it starts
/// with (its delete half touches an object stackd already owns).
fn request(
    plan_entry: &crate::plan::PlanEntry,
    owner: &Owner,
    planned: &Arc<[PlannedObject]>,
) -> Option<CheckRequest> {
    let change = match plan_entry.action {
        Action::Create | Action::Replace => CheckedChange::Create,
        Action::Update => CheckedChange::Update,
        Action::Delete => CheckedChange::Delete,
        Action::NoOp | Action::Read => return None,
    };
    if plan_entry.address.block.mode != stackd_spec::Mode::Managed {
        return None;
    }
    Some(CheckRequest {
        address: plan_entry.address.clone(),
        type_name: plan_entry.address.block.type_name.clone(),
        owner: owner.clone(),
        change,
        desired: plan_entry.desired.clone(),
        prior: plan_entry.prior.as_ref().map(|p| p.attrs.clone()),
        id: plan_entry.prior.as_ref().map(|p| p.id.clone()),
        planned: planned.clone(),
    })
}

/// The objects `plan` creates or re-creates.
fn planned_objects(plan: &Plan) -> Arc<[PlannedObject]> {
    plan.entries
        .iter()
        .filter(|e| matches!(e.action, Action::Create | Action::Replace))
        .filter(|e| e.address.block.mode == stackd_spec::Mode::Managed)
        .filter_map(|e| {
            Some(PlannedObject {
                address: e.address.clone(),
                type_name: e.address.block.type_name.clone(),
                desired: e.desired.clone()?,
            })
        })
        .collect()
}

/// Checks every change in `plan`.
pub async fn check_plan(plan: &Plan, provider: Arc<dyn Provider>) -> CheckReport {
    let limit = Arc::new(Semaphore::new(CHECK_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    let planned = planned_objects(plan);
    let requests: Vec<CheckRequest> = plan
        .entries
        .iter()
        .filter_map(|e| request(e, &plan.owner, &planned))
        .collect();
    let checked = requests.len();
    for (index, req) in requests.into_iter().enumerate() {
        let provider = provider.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = limit.acquire_owned().await.ok();
            let result = provider.check(&req).await;
            (index, req.address, result)
        });
    }
    let mut results = Vec::with_capacity(checked);
    let mut report = CheckReport {
        checked,
        ..CheckReport::default()
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            Err(e) => {
                tracing::error!(error = %e, "a dry-run check task failed");
                report.incomplete = true;
            }
        }
    }
    results.sort_by_key(|(index, _, _)| *index);
    for (_, address, result) in results {
        match result {
            Ok(findings) => report
                .findings
                .extend(findings.into_iter().map(|f| (address.clone(), f))),
            Err(e) => report.failures.push((address, e)),
        }
    }
    report
}
