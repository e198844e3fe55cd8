//! `aws_lb_listener_rule`: a rule of a listener: conditions (path pattern,
//! host header) and the actions taken when they match.
//!
//! Rules can only be listed per listener: refresh lists the rules of the
//! listeners that known rules belong to (the parent is part of a rule's
//! ARN), one paginated chain each, and reads their tags 20 ARNs a call. A
//! rule of this stack that state does not know is found again by the next
//! create, through its ownership tags.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI32, Ordering};

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::operation::create_rule::builders::CreateRuleFluentBuilder;
use aws_sdk_elasticloadbalancingv2::types::{
    self as elb, HostHeaderConditionConfig, PathPatternConditionConfig, RuleCondition,
    RulePriorityPair,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, ErrorKind, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::lb_listener::{action_block, action_blocks, actions_from_blocks};
use super::{LISTENER, LISTENER_RULE};
use crate::args::{blocks, num, opt_int, req_str, s, set_or_null, sort_blocks, str_list};
use crate::context::Aws;
use crate::elbv2_ecs_util::{
    address_for, at_most_one, conflict, elbv2_describe_tags, elbv2_reconcile_tags, elbv2_tags,
    elbv2_tags_of, gone, invalid, is_owned, made_for, read_each, tags_value, SdkResultExt, TagMap,
    ELBV2,
};
use crate::error::{after_create, has_code, ignore_not_found};
use crate::policy::{g, ANY};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, Deadline};

fn values_block(name: &'static str) -> BlockSchema {
    at_most_one(BlockSchema::new(name, Nesting::List)).attr(AttrSchema::required(
        "values",
        AttrType::set_of(AttrType::String),
    ))
}

/// `aws_lb_listener_rule`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_lb_listener_rule",
    schema,
    handler: &LbListenerRule,
    grants: &[
        g(
            &[
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTags",
            ],
            ANY,
        ),
        g(
            &["elasticloadbalancing:CreateRule"],
            &[LISTENER, LISTENER_RULE],
        ),
        g(
            &[
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetRulePriorities",
            ],
            &[LISTENER_RULE],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let condition = BlockSchema::new("condition", Nesting::Set)
        .required()
        .retired(
            "field",
            "use a block per condition: path_pattern { values = [...] } or host_header { values = [...] } (the provider removed field and values in 3.0)",
        )
        .retired(
            "values",
            "use a block per condition: path_pattern { values = [...] } or host_header { values = [...] }",
        )
        .block(values_block("host_header"))
        .block(values_block("path_pattern"));
    ResourceSchema::resource("aws_lb_listener_rule")
        .alias("aws_alb_listener_rule")
        .doc("A rule of a load balancer listener.")
        .attr(
            AttrSchema::required("listener_arn", AttrType::String)
                .force_new()
                .doc("The listener."),
        )
        .attr(
            AttrSchema::optional_computed("priority", AttrType::Number)
                .doc("1-50000, lower first; the next free priority when unset."),
        )
        .block(action_block("action"))
        .block(condition)
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ARN (also the ID)."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

/// The listener a rule belongs to, from the rule's ARN
/// (`...:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>`).
pub(crate) fn parent_listener(rule_arn: &str) -> Option<String> {
    let (head, rest) = rule_arn.split_once(":listener-rule/")?;
    let (listener_part, _) = rest.rsplit_once('/')?;
    Some(format!("{head}:listener/{listener_part}"))
}

/// Condition blocks as ELBv2 conditions: one per `host_header` or
/// `path_pattern` sub-block.
fn conditions_from_blocks(items: &[Value]) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    for c in items {
        if let Some(h) = blocks(c, "host_header").first() {
            out.push(
                RuleCondition::builder()
                    .field("host-header")
                    .host_header_config(
                        HostHeaderConditionConfig::builder()
                            .set_values(Some(str_list(h, "values")))
                            .build(),
                    )
                    .build(),
            );
        }
        if let Some(p) = blocks(c, "path_pattern").first() {
            out.push(
                RuleCondition::builder()
                    .field("path-pattern")
                    .path_pattern_config(
                        PathPatternConditionConfig::builder()
                            .set_values(Some(str_list(p, "values")))
                            .build(),
                    )
                    .build(),
            );
        }
    }
    out
}

/// ELBv2 conditions as condition blocks. Values come from the typed config
/// (AWS fills both it and the legacy `Values`), else from `Values`.
fn condition_blocks(conditions: &[RuleCondition]) -> Value {
    let items = conditions
        .iter()
        .map(|c| {
            let field = c.field().unwrap_or_default();
            let legacy = c.values().to_vec();
            let values = |typed: Option<&[String]>| {
                let v = typed.filter(|t| !t.is_empty()).map(<[String]>::to_vec);
                Value::List(vec![Value::map([(
                    "values",
                    set_or_null(v.unwrap_or_else(|| legacy.clone())),
                )])])
            };
            let host = match field {
                "host-header" => values(c.host_header_config().map(|h| h.values())),
                _ => Value::List(Vec::new()),
            };
            let path = match field {
                "path-pattern" => values(c.path_pattern_config().map(|p| p.values())),
                _ => Value::List(Vec::new()),
            };
            Value::map([("host_header", host), ("path_pattern", path)])
        })
        .collect();
    Value::List(sort_blocks(items))
}

fn rule_attrs(r: &elb::Rule, listener_arn: &str, tags: &TagMap) -> Value {
    let arn = r.rule_arn().unwrap_or_default();
    let priority = r
        .priority()
        .and_then(|p| p.parse::<i64>().ok())
        .map(num)
        .unwrap_or(Value::Null);
    Value::map([
        ("id", s(Some(arn))),
        ("arn", s(Some(arn))),
        ("listener_arn", s(Some(listener_arn))),
        ("priority", priority),
        ("action", action_blocks(r.actions())),
        ("condition", condition_blocks(r.conditions())),
        ("tags_all", tags_value(tags)),
    ])
}

/// The rules of one listener, its default rule left out (none when the
/// listener is gone).
async fn rules_of(aws: &Aws, listener_arn: &str) -> Result<Vec<elb::Rule>, ProviderError> {
    let result = aws
        .elbv2
        .describe_rules()
        .listener_arn(listener_arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .elbv2("DescribeRules");
    match result {
        Ok(rules) => Ok(rules
            .into_iter()
            .filter(|r| r.is_default() != Some(true))
            .collect()),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

async fn read(aws: &Aws, arn: &str, listener_arn: &str) -> Result<Option<Value>, ProviderError> {
    let result = aws
        .elbv2
        .describe_rules()
        .rule_arns(arn)
        .send()
        .await
        .elbv2("DescribeRules");
    let rule = match result {
        Ok(out) => out
            .rules()
            .iter()
            .find(|r| r.rule_arn() == Some(arn))
            .cloned(),
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let Some(rule) = rule else {
        return Ok(None);
    };
    let tags = elbv2_tags_of(aws, arn).await?;
    Ok(Some(rule_attrs(&rule, listener_arn, &tags)))
}

fn create_input(
    aws: &Aws,
    desired: &Value,
    listener_arn: &str,
    priority: i32,
) -> CreateRuleFluentBuilder {
    aws.elbv2
        .create_rule()
        .listener_arn(listener_arn)
        .priority(priority)
        .set_actions(Some(actions_from_blocks(blocks(desired, "action"))))
        .set_conditions(Some(conditions_from_blocks(blocks(desired, "condition"))))
        .set_tags(elbv2_tags(desired))
}

/// The priority after the highest one in use, as the Terraform provider
/// picks it when none is given.
fn next_priority(rules: &[elb::Rule]) -> i32 {
    rules
        .iter()
        .filter_map(|r| r.priority()?.parse::<i32>().ok())
        .max()
        .unwrap_or(0)
        + 1
}

/// A rule this address made earlier (a create retried after a crash),
/// found by its ownership tags; else the listener's rules, to check or
/// pick the priority.
async fn adoptable(
    aws: &Aws,
    req: &ChangeRequest,
    listener_arn: &str,
) -> Result<Result<String, Vec<elb::Rule>>, ProviderError> {
    let rules = rules_of(aws, listener_arn).await?;
    let arns: Vec<String> = rules
        .iter()
        .filter_map(|r| r.rule_arn().map(str::to_string))
        .collect();
    let tags = elbv2_describe_tags(aws, &arns).await?;
    Ok(
        match arns.iter().find(|a| {
            tags.get(*a)
                .is_some_and(|t| made_for(t, &req.owner, &req.address))
        }) {
            Some(arn) => Ok(arn.clone()),
            None => Err(rules),
        },
    )
}

pub(crate) struct LbListenerRule;

#[async_trait]
impl ResourceHandler for LbListenerRule {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let parents: BTreeSet<String> = req
            .known
            .iter()
            .filter_map(|k| parent_listener(&k.id))
            .collect();
        // One listing per parent listener: ELBv2 cannot list rules across
        // listeners.
        let listed = read_each(
            aws,
            parents.into_iter().collect(),
            |aws, listener| async move {
                let rules = rules_of(&aws, &listener).await?;
                Ok(rules
                    .into_iter()
                    .map(|r| (listener.clone(), r))
                    .collect::<Vec<_>>())
            },
        )
        .await?;
        let rules: Vec<(String, elb::Rule)> = listed.into_iter().flatten().collect();
        let arns: Vec<String> = rules
            .iter()
            .filter_map(|(_, r)| r.rule_arn().map(str::to_string))
            .collect();
        let mut tags = elbv2_describe_tags(aws, &arns).await?;
        Ok(rules
            .into_iter()
            .filter_map(|(listener, r)| {
                let id = r.rule_arn()?.to_string();
                let t = tags.remove(&id).unwrap_or_default();
                is_owned(&id, &t, &req.known, &req.owner).then(|| LiveResource {
                    address: address_for(&id, &t, &req.known),
                    attrs: rule_attrs(&r, &listener, &t),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let listener_arn = req_str(d, "listener_arn", "CreateRule")?;
        let arn = match adoptable(aws, req, listener_arn).await? {
            Ok(arn) => arn,
            Err(rules) => {
                let asked = opt_int(d, "priority").map(|p| p as i32);
                if let Some(p) = asked {
                    if rules
                        .iter()
                        .any(|r| r.priority() == Some(p.to_string().as_str()))
                    {
                        return Err(conflict(
                            ELBV2,
                            "CreateRule",
                            &format!("a rule with priority {p} on {listener_arn}"),
                            &req.address,
                            &req.owner,
                            &Default::default(),
                        ));
                    }
                }
                let priority = AtomicI32::new(asked.unwrap_or_else(|| next_priority(&rules)));
                // A target group created a moment ago may not be visible
                // yet; a picked priority may be taken meanwhile.
                let out = retry(&deadline, || async {
                    let p = priority.load(Ordering::Relaxed);
                    let result = create_input(aws, d, listener_arn, p)
                        .send()
                        .await
                        .elbv2("CreateRule");
                    match result {
                        Err(mut e) if asked.is_none() && has_code(&e, "PriorityInUse") => {
                            priority.store(p + 1, Ordering::Relaxed);
                            e.kind = ErrorKind::Transient;
                            Err(e)
                        }
                        other => other,
                    }
                })
                .await?;
                out.rules()
                    .first()
                    .and_then(|r| r.rule_arn())
                    .ok_or_else(|| invalid(ELBV2, "CreateRule", "the answer carries no ARN"))?
                    .to_string()
            }
        };
        retry(&deadline, || async {
            read(aws, &arn, listener_arn).await?.ok_or_else(|| {
                let mut e = gone(ELBV2, "DescribeRules", &arn);
                e.kind = ErrorKind::Transient;
                e
            })
        })
        .await
        .map_err(|e| after_create(&arn, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(ELBV2, "ModifyRule", "update without an ID"))?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let listener_arn = req_str(d, "listener_arn", "ModifyRule")?;
        let changed = |name: &str| req.changed.iter().any(|c| c == name);
        if changed("priority") {
            if let Some(p) = opt_int(d, "priority") {
                aws.elbv2
                    .set_rule_priorities()
                    .rule_priorities(
                        RulePriorityPair::builder()
                            .rule_arn(arn)
                            .priority(p as i32)
                            .build(),
                    )
                    .send()
                    .await
                    .elbv2("SetRulePriorities")?;
            }
        }
        if changed("action") || changed("condition") {
            let call = aws
                .elbv2
                .modify_rule()
                .rule_arn(arn)
                .set_actions(Some(actions_from_blocks(blocks(d, "action"))))
                .set_conditions(Some(conditions_from_blocks(blocks(d, "condition"))));
            retry(&deadline, || async {
                call.clone().send().await.elbv2("ModifyRule")
            })
            .await?;
        }
        elbv2_reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        read(aws, arn, listener_arn)
            .await?
            .ok_or_else(|| gone(ELBV2, "DescribeRules", arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_not_found(
            aws.elbv2
                .delete_rule()
                .rule_arn(&req.id)
                .send()
                .await
                .elbv2("DeleteRule")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elb::{Action, ActionTypeEnum};

    const ARN: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123:listener-rule/app/web/50dc/f2f7/9683";

    fn condition(kind: &str, values: &[&str]) -> Value {
        let empty = Value::Null;
        let block = Value::List(vec![Value::map([("values", Value::from(values.to_vec()))])]);
        let (host, path) = if kind == "host" {
            (block, empty)
        } else {
            (empty, block)
        };
        Value::map([("host_header", host), ("path_pattern", path)])
    }

    #[test]
    fn the_parent_listener_is_part_of_the_arn() {
        assert_eq!(
            parent_listener(ARN).as_deref(),
            Some("arn:aws:elasticloadbalancing:eu-west-1:123:listener/app/web/50dc/f2f7")
        );
    }

    #[test]
    fn conditions_round_trip_and_diff_clean() {
        let desired = vec![
            condition("path", &["/api/*"]),
            condition("host", &["example.com"]),
        ];
        let api = conditions_from_blocks(&desired);
        assert_eq!(api.len(), 2);
        assert_eq!(api[0].field(), Some("path-pattern"));
        assert_eq!(
            api[0].path_pattern_config().unwrap().values(),
            &["/api/*".to_string()]
        );
        let back = condition_blocks(&api);
        let schema = schema();
        let block = schema.body.find_block("condition").unwrap();
        assert_eq!(
            stackd_engine::diff::normalize_blocks(block, &Value::List(desired)),
            stackd_engine::diff::normalize_blocks(block, &back)
        );
    }

    #[test]
    fn legacy_values_are_read_when_the_config_is_absent() {
        let c = RuleCondition::builder()
            .field("path-pattern")
            .values("/static/*")
            .build();
        let v = condition_blocks(&[c]);
        let item = &v.as_list().unwrap()[0];
        assert_eq!(
            blocks(item, "path_pattern")[0].get("values"),
            Some(&Value::from(vec!["/static/*"]))
        );
        assert_eq!(blocks(item, "host_header").len(), 0);
    }

    #[test]
    fn live_rule_is_in_schema_shape() {
        let r = elb::Rule::builder()
            .rule_arn(ARN)
            .priority("10")
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn("arn:tg")
                    .build(),
            )
            .conditions(
                RuleCondition::builder()
                    .field("path-pattern")
                    .path_pattern_config(
                        PathPatternConditionConfig::builder()
                            .values("/api/*")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let v = rule_attrs(&r, "arn:listener", &TagMap::new());
        assert_eq!(v.get("priority"), Some(&Value::from(10)));
        assert_eq!(v.get("listener_arn"), Some(&Value::from("arn:listener")));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn the_next_priority_follows_the_highest() {
        let r = |p: &str| elb::Rule::builder().priority(p).build();
        assert_eq!(next_priority(&[r("5"), r("default"), r("12")]), 13);
        assert_eq!(next_priority(&[]), 1);
    }

    #[test]
    fn create_input_maps_the_arguments() {
        let aws = crate::elbv2_ecs_util::offline_aws();
        let d = Value::map([
            (
                "action",
                Value::List(vec![Value::map([
                    ("type", Value::from("forward")),
                    ("target_group_arn", Value::from("arn:tg")),
                ])]),
            ),
            (
                "condition",
                Value::List(vec![condition("path", &["/api/*"])]),
            ),
        ]);
        let call = create_input(&aws, &d, "arn:listener", 7);
        let i = call.as_input();
        assert_eq!(i.get_priority(), &Some(7));
        assert_eq!(i.get_conditions().as_ref().map(Vec::len), Some(1));
        assert_eq!(i.get_actions().as_ref().map(Vec::len), Some(1));
    }
}
