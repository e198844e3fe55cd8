//! `aws_cloudwatch_event_rule`: an EventBridge rule, on a schedule or an
//! event pattern. Its ID is its name on the default bus and `BUS/NAME` on
//! another, as in Terraform (also the import ID).
//!
//! `PutRule` both creates and changes a rule, so a create first looks the
//! name up: a rule carrying another stack's (or no) ownership tags is
//! refused, never overwritten. A refresh is one `ListRules` chain per event
//! bus of the known rules (filtered by their names' common prefix), then
//! `ListTagsForResource` per rule: EventBridge has no batch read of tags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::{Rule, RuleState};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{bus_or_default, list_rules, rule_tags, sdk_tags, DEFAULT_BUS, EVENTS, RULE};
use crate::args::{common_prefix, opt_str, s};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{
    bounded_all, conflict, echo, found, gone, ignore_gone, invalid, live_tags, name_or_generated,
    ours, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::services::iam::pass_role;
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, reconcile_by};
use crate::wait::{retry, until, Deadline};

/// `aws_cloudwatch_event_rule`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_cloudwatch_event_rule",
    schema,
    handler: &CloudwatchEventRule,
    grants: &[
        g(&["events:ListRules"], ANY),
        g(
            &[
                "events:DeleteRule",
                "events:ListTagsForResource",
                "events:PutRule",
                "events:TagResource",
                "events:UntagResource",
            ],
            &[RULE],
        ),
        pass_role(&["events.amazonaws.com"]),
    ],
    source: file!(),
};

const STATES: [&str; 3] = [
    "ENABLED",
    "DISABLED",
    "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
];

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_cloudwatch_event_rule")
        .doc("An EventBridge rule: a schedule or an event pattern that triggers targets.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The rule's name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(
            AttrSchema::optional("schedule_expression", AttrType::String)
                .doc("`cron(...)` or `rate(...)`; the default bus only."),
        )
        .attr(
            AttrSchema::optional("event_pattern", AttrType::Json)
                .doc("The event pattern (JSON), compared by meaning."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("A description."))
        .attr(
            AttrSchema::optional_computed("state", AttrType::String)
                .check(Check::OneOf(STATES.to_vec()))
                .doc("ENABLED (the default), DISABLED or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS."),
        )
        .attr(
            AttrSchema::optional_computed("is_enabled", AttrType::Bool)
                .deprecated("state")
                .doc("Whether the rule is enabled (deprecated: use `state`)."),
        )
        .attr(
            AttrSchema::optional("role_arn", AttrType::String)
                .doc("The role EventBridge assumes for the rule's targets."),
        )
        .attr(
            AttrSchema::optional("event_bus_name", AttrType::String)
                .default(DEFAULT_BUS)
                .force_new()
                .doc("The event bus (name or ARN) the rule belongs to."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The rule's ARN."))
        .taggable()
}

/// Terraform's ID of a rule: the name on the default bus, `BUS/NAME` on
/// another.
pub(crate) fn rule_id(bus: &str, name: &str) -> String {
    if bus == DEFAULT_BUS {
        name.to_string()
    } else {
        format!("{bus}/{name}")
    }
}

/// The bus and name of a rule ID. A bus given by ARN contains `/`
/// (`…:event-bus/NAME`): the name is what follows the last `/`.
pub(crate) fn parse_rule_id(id: &str) -> (String, String) {
    match id.rsplit_once('/') {
        Some((bus, name)) => (bus.to_string(), name.to_string()),
        None => (DEFAULT_BUS.to_string(), id.to_string()),
    }
}

/// The state the arguments ask for: `state`, else the deprecated
/// `is_enabled`, else ENABLED.
fn desired_state(d: &Value) -> &str {
    if let Some(state) = opt_str(d, "state") {
        return state;
    }
    match d.get("is_enabled").and_then(Value::as_bool) {
        Some(false) => "DISABLED",
        _ => "ENABLED",
    }
}

fn rule_attrs(r: &Rule, bus: &str, tags: &BTreeMap<String, String>, args: Option<&Value>) -> Value {
    let name = r.name().unwrap_or_default();
    let state = r.state().map_or("ENABLED", RuleState::as_str);
    Value::map([
        ("id", Value::from(rule_id(bus, name))),
        ("name", Value::from(name)),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("schedule_expression", s(r.schedule_expression())),
        ("event_pattern", s(r.event_pattern())),
        ("description", s(r.description())),
        ("state", Value::from(state)),
        ("is_enabled", Value::Bool(state != "DISABLED")),
        ("role_arn", s(r.role_arn())),
        ("event_bus_name", Value::from(bus)),
        ("arn", s(r.arn())),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// The bus and name of a known rule: from its recorded arguments, else
/// from its ID.
fn bus_and_name(k: &KnownResource) -> (String, String) {
    match opt_str(&k.attrs, "name") {
        Some(name) => (
            bus_or_default(opt_str(&k.attrs, "event_bus_name")).to_string(),
            name.to_string(),
        ),
        None => parse_rule_id(&k.id),
    }
}

/// The rule `bus`/`name` with its tags; `None` when it does not exist.
async fn read_one(
    aws: &Aws,
    bus: &str,
    name: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let rules = list_rules(aws, bus, name).await?.unwrap_or_default();
    let Some(r) = rules.iter().find(|r| r.name() == Some(name)) else {
        return Ok(None);
    };
    let tags = match r.arn() {
        Some(arn) => found(rule_tags(aws, arn).await)?.unwrap_or_default(),
        None => BTreeMap::new(),
    };
    Ok(Some(rule_attrs(r, bus, &tags, args)))
}

/// `PutRule` with every argument of `d`; tags only on a create (PutRule
/// applies them only to a new rule).
async fn put(
    aws: &Aws,
    bus: &str,
    name: &str,
    d: &Value,
    with_tags: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    const OP: &str = "PutRule";
    if opt_str(d, "schedule_expression").is_none() && opt_str(d, "event_pattern").is_none() {
        return Err(invalid(
            EVENTS,
            OP,
            "set `schedule_expression` or `event_pattern` (or both)",
        ));
    }
    let tags = if with_tags {
        Some(sdk_tags(&desired_tags(d), OP)?)
    } else {
        None
    };
    let call = aws
        .events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .set_schedule_expression(opt_str(d, "schedule_expression").map(str::to_string))
        .set_event_pattern(opt_str(d, "event_pattern").map(str::to_string))
        .set_description(opt_str(d, "description").map(str::to_string))
        .set_role_arn(opt_str(d, "role_arn").map(str::to_string))
        .state(RuleState::from(desired_state(d)))
        .set_tags(tags);
    // A role created a moment ago may not be accepted yet.
    retry(deadline, || async { call.clone().send().await.aws(EVENTS, OP) })
        .await
        .map(|_| ())
}

/// Reads the rule until it shows the state and schedule `d` asks for.
async fn read_settled(
    aws: &Aws,
    bus: &str,
    name: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let state = desired_state(d).to_string();
    let schedule = opt_str(d, "schedule_expression").map(str::to_string);
    until(
        deadline,
        "ListRules",
        &format!("event rule {name} to show its settings"),
        || async {
            let v = read_one(aws, bus, name, Some(d)).await?;
            Ok(v.filter(|v| {
                opt_str(v, "state") == Some(state.as_str())
                    && opt_str(v, "schedule_expression") == schedule.as_deref()
            }))
        },
    )
    .await
}

pub(crate) struct CloudwatchEventRule;

#[async_trait]
impl ResourceHandler for CloudwatchEventRule {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_bus: BTreeMap<String, Vec<(String, &KnownResource)>> = BTreeMap::new();
        for k in &req.known {
            let (bus, name) = bus_and_name(k);
            by_bus.entry(bus).or_default().push((name, k));
        }
        let mut found_rules: Vec<(String, Rule, &KnownResource)> = Vec::new();
        for (bus, wanted) in &by_bus {
            let names: Vec<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
            let rules = list_rules(aws, bus, &common_prefix(&names)).await?;
            for r in rules.unwrap_or_default() {
                if let Some((_, k)) = wanted.iter().find(|(n, _)| Some(n.as_str()) == r.name()) {
                    found_rules.push((bus.clone(), r, k));
                }
            }
        }
        let tags = bounded_all(found_rules.iter().map(|(_, r, _)| async move {
            match r.arn() {
                Some(arn) => found(rule_tags(aws, arn).await).map(Option::unwrap_or_default),
                None => Ok(BTreeMap::new()),
            }
        }))
        .await;
        let mut out = Vec::new();
        for ((bus, r, k), tags) in found_rules.into_iter().zip(tags) {
            out.push(LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs: rule_attrs(&r, &bus, &tags?, Some(&k.attrs)),
            });
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "stackd-");
        let bus = bus_or_default(opt_str(d, "event_bus_name")).to_string();
        // PutRule would overwrite a rule of the same name: only this
        // resource's own (an earlier attempt's) is taken over.
        if let Some(existing) = read_one(aws, &bus, &name, Some(d)).await? {
            let live = live_tags(&existing);
            if !ours(&live, &req.owner, &req.address) {
                return Err(invalid(
                    EVENTS,
                    "PutRule",
                    conflict("event rule", &name, &live, &req.owner),
                ));
            }
            tracing::info!(rule = %name, "adopting the event rule an earlier attempt created");
        }
        put(aws, &bus, &name, d, true, &deadline).await?;
        read_settled(aws, &bus, &name, d, &deadline)
            .await
            .map_err(|e| after_create(&name, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = update_id(req.id.as_deref(), EVENTS, "PutRule")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let (bus, name) = parse_rule_id(id);
        let tags_only = req.changed.iter().all(|c| c == "tags" || c == "tags_all");
        if !tags_only {
            put(aws, &bus, &name, d, false, &deadline).await?;
        }
        let arn = opt_str(&prior, "arn")
            .ok_or_else(|| gone(EVENTS, "ListRules", id))?
            .to_string();
        reconcile_by(
            &prior,
            d,
            &deadline,
            |keys| {
                let arn = arn.clone();
                async move {
                    aws.events
                        .untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(keys))
                        .send()
                        .await
                        .aws(EVENTS, "UntagResource")
                        .map(|_| ())
                }
            },
            |tags| {
                let arn = arn.clone();
                async move {
                    aws.events
                        .tag_resource()
                        .resource_arn(arn)
                        .set_tags(Some(sdk_tags(&tags, "TagResource")?))
                        .send()
                        .await
                        .aws(EVENTS, "TagResource")
                        .map(|_| ())
                }
            },
        )
        .await?;
        read_settled(aws, &bus, &name, d, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let (bus, name) = parse_rule_id(&req.id);
        ignore_gone(
            retry(&deadline, || async {
                aws.events
                    .delete_rule()
                    .name(&name)
                    .event_bus_name(&bus)
                    .send()
                    .await
                    .aws(EVENTS, "DeleteRule")
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_bus_only_when_it_is_not_the_default() {
        assert_eq!(rule_id("default", "nightly"), "nightly");
        assert_eq!(rule_id("orders", "nightly"), "orders/nightly");
        assert_eq!(parse_rule_id("nightly"), ("default".into(), "nightly".into()));
        assert_eq!(parse_rule_id("orders/nightly"), ("orders".into(), "nightly".into()));
        assert_eq!(
            parse_rule_id("arn:aws:events:us-east-1:1:event-bus/orders/nightly"),
            (
                "arn:aws:events:us-east-1:1:event-bus/orders".into(),
                "nightly".into()
            )
        );
    }

    #[test]
    fn the_state_comes_from_state_then_is_enabled() {
        assert_eq!(desired_state(&Value::Null), "ENABLED");
        let d = Value::map([("is_enabled", Value::Bool(false))]);
        assert_eq!(desired_state(&d), "DISABLED");
        let d = Value::map([
            ("is_enabled", Value::Bool(false)),
            ("state", Value::from("ENABLED")),
        ]);
        assert_eq!(desired_state(&d), "ENABLED");
    }

    #[test]
    fn a_listed_rule_is_in_schema_shape() {
        let r = Rule::builder()
            .name("nightly")
            .arn("arn:aws:events:us-east-1:1:rule/nightly")
            .schedule_expression("rate(1 day)")
            .state(RuleState::Disabled)
            .build();
        let v = rule_attrs(&r, "default", &BTreeMap::new(), None);
        assert_eq!(v.get("id"), Some(&Value::from("nightly")));
        assert_eq!(v.get("is_enabled"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
