//! `aws_lb_listener`: a listener of a load balancer, with its default
//! actions. The action block shape and its conversions are shared with
//! `aws_lb_listener_rule`.
//!
//! Listeners can only be listed per load balancer: refresh lists those of
//! the load balancers that known listeners belong to (the parent is part of
//! a listener's ARN), one paginated chain each, and reads their tags 20
//! ARNs a call. A listener of this stack that state does not know (a crash
//! right after creating it) is found again by the next create, through its
//! ownership tags.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::operation::create_listener::builders::CreateListenerFluentBuilder;
use aws_sdk_elasticloadbalancingv2::types::{
    self as elb, Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, ProtocolEnum,
    RedirectActionConfig, RedirectActionStatusCodeEnum,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, ErrorKind, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{LISTENER, LOAD_BALANCER};
use crate::args::{blocks, num, opt_int, opt_str, req_str, s};
use crate::context::Aws;
use crate::elbv2_ecs_util::{
    address_for, at_most_one, conflict, elbv2_describe_tags, elbv2_reconcile_tags, elbv2_tags,
    elbv2_tags_of, gone, invalid, is_owned, made_for, read_each, tags_value, SdkResultExt, TagMap,
    ELBV2,
};
use crate::error::{after_create, ignore_not_found};
use crate::policy::{g, ANY};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, Deadline};

// ---------------------------------------------------------------------------
// Actions (shared with aws_lb_listener_rule)

/// The `default_action` / `action` block: `forward`, `redirect` or
/// `fixed-response`.
pub(crate) fn action_block(name: &'static str) -> BlockSchema {
    BlockSchema::new(name, Nesting::List)
        .required()
        .attr(AttrSchema::required("type", AttrType::String))
        .attr(AttrSchema::optional("target_group_arn", AttrType::String))
        .attr(AttrSchema::optional_computed("order", AttrType::Number))
        .block(
            at_most_one(BlockSchema::new("redirect", Nesting::List))
                .attr(AttrSchema::optional("host", AttrType::String).default("#{host}"))
                .attr(AttrSchema::optional("path", AttrType::String).default("/#{path}"))
                .attr(AttrSchema::optional("port", AttrType::String).default("#{port}"))
                .attr(AttrSchema::optional("protocol", AttrType::String).default("#{protocol}"))
                .attr(AttrSchema::optional("query", AttrType::String).default("#{query}"))
                .attr(AttrSchema::required("status_code", AttrType::String)),
        )
        .block(
            at_most_one(BlockSchema::new("fixed_response", Nesting::List))
                .attr(AttrSchema::required("content_type", AttrType::String))
                .attr(AttrSchema::optional("message_body", AttrType::String))
                .attr(AttrSchema::optional_computed(
                    "status_code",
                    AttrType::String,
                )),
        )
}

/// Action blocks as ELBv2 actions.
pub(crate) fn actions_from_blocks(items: &[Value]) -> Vec<Action> {
    items.iter().map(action_from_block).collect()
}

fn action_from_block(b: &Value) -> Action {
    let redirect = blocks(b, "redirect").first().map(|r| {
        RedirectActionConfig::builder()
            .host(opt_str(r, "host").unwrap_or("#{host}"))
            .path(opt_str(r, "path").unwrap_or("/#{path}"))
            .port(opt_str(r, "port").unwrap_or("#{port}"))
            .protocol(opt_str(r, "protocol").unwrap_or("#{protocol}"))
            .query(opt_str(r, "query").unwrap_or("#{query}"))
            .set_status_code(opt_str(r, "status_code").map(RedirectActionStatusCodeEnum::from))
            .build()
    });
    let fixed = blocks(b, "fixed_response").first().map(|f| {
        FixedResponseActionConfig::builder()
            .set_content_type(opt_str(f, "content_type").map(str::to_string))
            .set_message_body(opt_str(f, "message_body").map(str::to_string))
            .set_status_code(opt_str(f, "status_code").map(str::to_string))
            .build()
    });
    Action::builder()
        .r#type(ActionTypeEnum::from(
            opt_str(b, "type").unwrap_or("forward"),
        ))
        .set_target_group_arn(opt_str(b, "target_group_arn").map(str::to_string))
        .set_order(opt_int(b, "order").map(|o| o as i32))
        .set_redirect_config(redirect)
        .set_fixed_response_config(fixed)
        .build()
}

/// ELBv2 actions as action blocks.
pub(crate) fn action_blocks(actions: &[Action]) -> Value {
    let mut sorted: Vec<&Action> = actions.iter().collect();
    sorted.sort_by_key(|a| a.order().unwrap_or(i32::MAX));
    Value::List(sorted.into_iter().map(action_value).collect())
}

fn action_value(a: &Action) -> Value {
    // AWS also reports a plain forward as a one-group `ForwardConfig`.
    let target_group = a.target_group_arn().map(str::to_string).or_else(|| {
        let groups = a.forward_config()?.target_groups();
        match groups {
            [one] => one.target_group_arn().map(str::to_string),
            _ => None,
        }
    });
    let redirect = a
        .redirect_config()
        .map(|r| {
            vec![Value::map([
                ("host", s(r.host())),
                ("path", s(r.path())),
                ("port", s(r.port())),
                ("protocol", s(r.protocol())),
                ("query", s(r.query())),
                (
                    "status_code",
                    s(r.status_code().map(RedirectActionStatusCodeEnum::as_str)),
                ),
            ])]
        })
        .unwrap_or_default();
    let fixed = a
        .fixed_response_config()
        .map(|f| {
            vec![Value::map([
                ("content_type", s(f.content_type())),
                ("message_body", s(f.message_body())),
                ("status_code", s(f.status_code())),
            ])]
        })
        .unwrap_or_default();
    Value::map([
        ("type", s(a.r#type().map(ActionTypeEnum::as_str))),
        ("target_group_arn", Value::from(target_group)),
        ("order", a.order().map(num).unwrap_or(Value::Null)),
        ("redirect", Value::List(redirect)),
        ("fixed_response", Value::List(fixed)),
    ])
}

// ---------------------------------------------------------------------------
// The listener

/// `aws_lb_listener`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_lb_listener",
    schema,
    handler: &LbListener,
    grants: &[
        g(
            &[
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTags",
            ],
            ANY,
        ),
        g(
            &["elasticloadbalancing:CreateListener"],
            &[LISTENER, LOAD_BALANCER],
        ),
        g(
            &[
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:RemoveTags",
            ],
            &[LISTENER],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_lb_listener")
        .alias("aws_alb_listener")
        .doc("A listener of a load balancer.")
        .attr(
            AttrSchema::required("load_balancer_arn", AttrType::String)
                .force_new()
                .doc("The load balancer."),
        )
        .attr(AttrSchema::optional("port", AttrType::Number).doc("The port listened on."))
        .attr(
            AttrSchema::optional_computed("protocol", AttrType::String)
                .doc("`HTTP` or `HTTPS` (ALB), `TCP`, `TLS`, `UDP`, `TCP_UDP` (NLB)."),
        )
        .attr(
            AttrSchema::optional_computed("ssl_policy", AttrType::String)
                .doc("The TLS security policy (HTTPS and TLS listeners)."),
        )
        .attr(
            AttrSchema::optional("certificate_arn", AttrType::String)
                .doc("The default certificate (HTTPS and TLS listeners)."),
        )
        .block(action_block("default_action"))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ARN (also the ID)."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

/// The load balancer a listener belongs to, from the listener's ARN
/// (`...:listener/app/<name>/<lb-id>/<listener-id>`).
pub(crate) fn parent_load_balancer(listener_arn: &str) -> Option<String> {
    let (head, rest) = listener_arn.split_once(":listener/")?;
    let (lb_part, _) = rest.rsplit_once('/')?;
    Some(format!("{head}:loadbalancer/{lb_part}"))
}

fn listener_attrs(l: &elb::Listener, tags: &TagMap) -> Value {
    let arn = l.listener_arn().unwrap_or_default();
    let certificate = l
        .certificates()
        .iter()
        .find(|c| c.is_default() != Some(false))
        .and_then(|c| c.certificate_arn());
    Value::map([
        ("id", s(Some(arn))),
        ("arn", s(Some(arn))),
        ("load_balancer_arn", s(l.load_balancer_arn())),
        ("port", l.port().map(num).unwrap_or(Value::Null)),
        ("protocol", s(l.protocol().map(ProtocolEnum::as_str))),
        ("ssl_policy", s(l.ssl_policy())),
        ("certificate_arn", s(certificate)),
        ("default_action", action_blocks(l.default_actions())),
        ("tags_all", tags_value(tags)),
    ])
}

/// The listeners of one load balancer (none when it is gone).
async fn listeners_of(aws: &Aws, lb_arn: &str) -> Result<Vec<elb::Listener>, ProviderError> {
    let result = aws
        .elbv2
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .elbv2("DescribeListeners");
    match result {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

async fn read(aws: &Aws, arn: &str) -> Result<Option<Value>, ProviderError> {
    let result = aws
        .elbv2
        .describe_listeners()
        .listener_arns(arn)
        .send()
        .await
        .elbv2("DescribeListeners");
    let listener = match result {
        Ok(out) => out
            .listeners()
            .iter()
            .find(|l| l.listener_arn() == Some(arn))
            .cloned(),
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let Some(listener) = listener else {
        return Ok(None);
    };
    let tags = elbv2_tags_of(aws, arn).await?;
    Ok(Some(listener_attrs(&listener, &tags)))
}

fn create_input(aws: &Aws, desired: &Value, lb_arn: &str) -> CreateListenerFluentBuilder {
    aws.elbv2
        .create_listener()
        .load_balancer_arn(lb_arn)
        .set_port(opt_int(desired, "port").map(|p| p as i32))
        .set_protocol(protocol(desired, lb_arn))
        .set_ssl_policy(opt_str(desired, "ssl_policy").map(str::to_string))
        .set_certificates(certificates(desired))
        .set_default_actions(Some(actions_from_blocks(blocks(desired, "default_action"))))
        .set_tags(elbv2_tags(desired))
}

/// The protocol asked for; unset on an application load balancer means
/// `HTTP`, as the Terraform provider documents.
fn protocol(desired: &Value, lb_arn: &str) -> Option<ProtocolEnum> {
    match opt_str(desired, "protocol") {
        Some(p) => Some(ProtocolEnum::from(p.to_ascii_uppercase().as_str())),
        None if lb_arn.contains(":loadbalancer/app/") => Some(ProtocolEnum::Http),
        None => None,
    }
}

fn certificates(desired: &Value) -> Option<Vec<Certificate>> {
    opt_str(desired, "certificate_arn")
        .map(|c| vec![Certificate::builder().certificate_arn(c).build()])
}

/// A listener this address made earlier (a create retried after a crash),
/// found by its ownership tags; an error when another listener holds the
/// port.
async fn adoptable(
    aws: &Aws,
    req: &ChangeRequest,
    lb_arn: &str,
) -> Result<Option<String>, ProviderError> {
    let listeners = listeners_of(aws, lb_arn).await?;
    let arns: Vec<String> = listeners
        .iter()
        .filter_map(|l| l.listener_arn().map(str::to_string))
        .collect();
    let tags = elbv2_describe_tags(aws, &arns).await?;
    if let Some(arn) = arns.iter().find(|a| {
        tags.get(*a)
            .is_some_and(|t| made_for(t, &req.owner, &req.address))
    }) {
        return Ok(Some(arn.clone()));
    }
    let port = opt_int(&req.desired, "port");
    let taken = listeners
        .iter()
        .find(|l| port.is_some() && l.port().map(i64::from) == port);
    if let Some(taken) = taken {
        let no_tags = Default::default();
        let their_tags = taken
            .listener_arn()
            .and_then(|a| tags.get(a))
            .unwrap_or(&no_tags);
        return Err(conflict(
            ELBV2,
            "CreateListener",
            &format!(
                "a listener on port {} of {lb_arn}",
                port.unwrap_or_default()
            ),
            &req.address,
            &req.owner,
            their_tags,
        ));
    }
    Ok(None)
}

pub(crate) struct LbListener;

#[async_trait]
impl ResourceHandler for LbListener {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let parents: BTreeSet<String> = req
            .known
            .iter()
            .filter_map(|k| parent_load_balancer(&k.id))
            .collect();
        // One listing per parent load balancer: ELBv2 cannot list
        // listeners across load balancers.
        let listed = read_each(aws, parents.into_iter().collect(), |aws, lb| async move {
            listeners_of(&aws, &lb).await
        })
        .await?;
        let listeners: Vec<elb::Listener> = listed.into_iter().flatten().collect();
        let arns: Vec<String> = listeners
            .iter()
            .filter_map(|l| l.listener_arn().map(str::to_string))
            .collect();
        let mut tags = elbv2_describe_tags(aws, &arns).await?;
        Ok(listeners
            .into_iter()
            .filter_map(|l| {
                let id = l.listener_arn()?.to_string();
                let t = tags.remove(&id).unwrap_or_default();
                is_owned(&id, &t, &req.known, &req.owner).then(|| LiveResource {
                    address: address_for(&id, &t, &req.known),
                    attrs: listener_attrs(&l, &t),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let lb_arn = req_str(d, "load_balancer_arn", "CreateListener")?;
        let arn = match adoptable(aws, req, lb_arn).await? {
            Some(arn) => arn,
            None => {
                let call = create_input(aws, d, lb_arn);
                // A target group or load balancer created a moment ago may
                // not be visible yet.
                let out = retry(&deadline, || async {
                    call.clone().send().await.elbv2("CreateListener")
                })
                .await?;
                out.listeners()
                    .first()
                    .and_then(|l| l.listener_arn())
                    .ok_or_else(|| invalid(ELBV2, "CreateListener", "the answer carries no ARN"))?
                    .to_string()
            }
        };
        retry(&deadline, || async {
            read(aws, &arn).await?.ok_or_else(|| {
                let mut e = gone(ELBV2, "DescribeListeners", &arn);
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
            .ok_or_else(|| invalid(ELBV2, "ModifyListener", "update without an ID"))?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let settings = [
            "port",
            "protocol",
            "ssl_policy",
            "certificate_arn",
            "default_action",
        ];
        if req.changed.iter().any(|c| settings.contains(&c.as_str())) {
            let call = aws
                .elbv2
                .modify_listener()
                .listener_arn(arn)
                .set_port(opt_int(d, "port").map(|p| p as i32))
                .set_protocol(
                    opt_str(d, "protocol")
                        .map(|p| ProtocolEnum::from(p.to_ascii_uppercase().as_str())),
                )
                .set_ssl_policy(opt_str(d, "ssl_policy").map(str::to_string))
                .set_certificates(certificates(d))
                .set_default_actions(Some(actions_from_blocks(blocks(d, "default_action"))));
            retry(&deadline, || async {
                call.clone().send().await.elbv2("ModifyListener")
            })
            .await?;
        }
        elbv2_reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        read(aws, arn)
            .await?
            .ok_or_else(|| gone(ELBV2, "DescribeListeners", arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_not_found(
            aws.elbv2
                .delete_listener()
                .listener_arn(&req.id)
                .send()
                .await
                .elbv2("DeleteListener")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elb::{ForwardActionConfig, TargetGroupTuple};

    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";

    fn redirect_block() -> Value {
        Value::map([
            ("type", Value::from("redirect")),
            ("target_group_arn", Value::Null),
            ("order", Value::Null),
            (
                "redirect",
                Value::List(vec![Value::map([
                    ("port", Value::from("443")),
                    ("protocol", Value::from("HTTPS")),
                    ("status_code", Value::from("HTTP_301")),
                ])]),
            ),
            ("fixed_response", Value::Null),
        ])
    }

    #[test]
    fn the_parent_load_balancer_is_part_of_the_arn() {
        assert_eq!(
            parent_load_balancer(ARN).as_deref(),
            Some(
                "arn:aws:elasticloadbalancing:eu-west-1:123:loadbalancer/app/web/50dc6c495c0c9188"
            )
        );
        assert_eq!(parent_load_balancer("nonsense"), None);
    }

    #[test]
    fn actions_round_trip_through_the_api_shape() {
        let forward = Value::map([
            ("type", Value::from("forward")),
            ("target_group_arn", Value::from("arn:tg")),
        ]);
        let actions = actions_from_blocks(&[forward, redirect_block()]);
        assert_eq!(actions[0].r#type(), Some(&ActionTypeEnum::Forward));
        assert_eq!(actions[0].target_group_arn(), Some("arn:tg"));
        let r = actions[1].redirect_config().unwrap();
        assert_eq!(r.host(), Some("#{host}"));
        assert_eq!(r.port(), Some("443"));
        assert_eq!(
            r.status_code(),
            Some(&RedirectActionStatusCodeEnum::Http301)
        );

        let back = action_blocks(&actions);
        let block = schema().body.find_block("default_action").unwrap().clone();
        let desired = Value::List(vec![
            Value::map([
                ("type", Value::from("forward")),
                ("target_group_arn", Value::from("arn:tg")),
            ]),
            redirect_block(),
        ]);
        assert_eq!(
            stackd_engine::diff::normalize_blocks(&block, &desired),
            stackd_engine::diff::normalize_blocks(&block, &back)
        );
    }

    #[test]
    fn a_forward_config_gives_the_target_group() {
        let a = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .order(1)
            .forward_config(
                ForwardActionConfig::builder()
                    .target_groups(
                        TargetGroupTuple::builder()
                            .target_group_arn("arn:tg")
                            .weight(1)
                            .build(),
                    )
                    .build(),
            )
            .build();
        let v = action_value(&a);
        assert_eq!(v.get("target_group_arn"), Some(&Value::from("arn:tg")));
        assert_eq!(v.get("order"), Some(&Value::from(1)));
    }

    #[test]
    fn live_listener_is_in_schema_shape() {
        let l = elb::Listener::builder()
            .listener_arn(ARN)
            .load_balancer_arn("arn:lb")
            .port(80)
            .protocol(ProtocolEnum::Http)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        FixedResponseActionConfig::builder()
                            .content_type("text/plain")
                            .status_code("404")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let v = listener_attrs(&l, &TagMap::new());
        assert_eq!(v.get("port"), Some(&Value::from(80)));
        assert_eq!(v.get("protocol"), Some(&Value::from("HTTP")));
        let a = &blocks(&v, "default_action")[0];
        assert_eq!(
            blocks(a, "fixed_response")[0].get("status_code"),
            Some(&Value::from("404"))
        );
        for attr in &schema().body.attrs {
            if attr.name != "tags" {
                assert!(v.get(attr.name).is_some(), "{} missing", attr.name);
            }
        }
    }

    #[test]
    fn create_input_maps_the_arguments() {
        let aws = crate::elbv2_ecs_util::offline_aws();
        let d = Value::map([
            ("port", Value::from(443)),
            ("protocol", Value::from("HTTPS")),
            ("certificate_arn", Value::from("arn:cert")),
            ("default_action", Value::List(vec![redirect_block()])),
        ]);
        let call = create_input(&aws, &d, "arn:lb");
        let i = call.as_input();
        assert_eq!(i.get_port(), &Some(443));
        assert_eq!(i.get_protocol(), &Some(ProtocolEnum::Https));
        assert_eq!(i.get_certificates().as_ref().map(Vec::len), Some(1));
        assert_eq!(i.get_default_actions().as_ref().map(Vec::len), Some(1));
    }
}
