//! `aws_db_parameter_group`: engine parameters DB instances of one family
//! (`postgres15`, `mysql8.0`) use. Its ID, and import ID, is its name.
//! `family` and `description` force a new group; `parameter` blocks (a
//! set, keyed by name) and tags change in place: set ones with
//! `ModifyDBParameterGroup`, removed ones back to the engine's default
//! with `ResetDBParameterGroup`, at most 20 per call as RDS allows.
//!
//! A refresh is one `DescribeDBParameterGroups` chain for the type, then,
//! per known group, `ListTagsForResource` (a group's description carries
//! no tags) and `DescribeDBParameters` with `Source=user`, which takes one
//! group name and has no batch form.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::db_subnet_group::MANAGED_BY;
use super::{adoptable, rds_tags, reconcile_tags, tags_of, RDS, PARAMETER_GROUP};
use crate::args::{blocks, opt_str, s, sort_blocks};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, bounded_all, echo, found, gone, ignore_gone, live_tags, name_or_generated,
    required, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// `aws_db_parameter_group`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_db_parameter_group",
    schema,
    handler: &DbParameterGroupHandler,
    grants: &[
        g(
            &[
                "rds:DescribeDBParameterGroups",
                "rds:DescribeDBParameters",
                "rds:ListTagsForResource",
            ],
            ANY,
        ),
        g(
            &[
                "rds:AddTagsToResource",
                "rds:CreateDBParameterGroup",
                "rds:DeleteDBParameterGroup",
                "rds:ModifyDBParameterGroup",
                "rds:RemoveTagsFromResource",
                "rds:ResetDBParameterGroup",
            ],
            &[PARAMETER_GROUP],
        ),
    ],
    source: file!(),
};

/// RDS takes at most this many parameters in one modify or reset.
const PARAMETERS_PER_CALL: usize = 20;

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_db_parameter_group")
        .doc("An RDS DB parameter group.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The group's name (lower case); generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(
            AttrSchema::required("family", AttrType::String)
                .force_new()
                .doc("The engine family, e.g. postgres15 or mysql8.0."),
        )
        .attr(
            AttrSchema::optional("description", AttrType::String)
                .default(MANAGED_BY)
                .force_new(),
        )
        .block(
            BlockSchema::new("parameter", Nesting::Set)
                .attr(AttrSchema::required("name", AttrType::String))
                .attr(AttrSchema::required("value", AttrType::String))
                .attr(
                    AttrSchema::optional("apply_method", AttrType::String)
                        .default("immediate")
                        .check(Check::OneOf(vec!["immediate", "pending-reboot"])),
                ),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .taggable()
}

/// One `parameter` block: name, value and apply method.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Param {
    name: String,
    value: String,
    apply_method: String,
}

impl Param {
    fn block(&self) -> Value {
        Value::map([
            ("name", Value::from(self.name.as_str())),
            ("value", Value::from(self.value.as_str())),
            ("apply_method", Value::from(self.apply_method.as_str())),
        ])
    }

    fn sdk(&self) -> Parameter {
        Parameter::builder()
            .parameter_name(&self.name)
            .parameter_value(&self.value)
            .apply_method(ApplyMethod::from(self.apply_method.as_str()))
            .build()
    }
}

/// The `parameter` blocks of arguments or attributes, by name.
fn params_of(v: &Value) -> BTreeMap<String, Param> {
    blocks(v, "parameter")
        .iter()
        .filter_map(|b| {
            let name = opt_str(b, "name")?.to_string();
            Some((
                name.clone(),
                Param {
                    name,
                    value: b.get("value").and_then(Value::as_str).unwrap_or("").into(),
                    apply_method: opt_str(b, "apply_method").unwrap_or("immediate").into(),
                },
            ))
        })
        .collect()
}

/// What an update sends: parameters to set (new or changed) and names to
/// reset (no longer in the spec).
fn param_changes(prior: &Value, desired: &Value) -> (Vec<Param>, Vec<Param>) {
    let (before, after) = (params_of(prior), params_of(desired));
    let set = after
        .values()
        .filter(|p| before.get(&p.name) != Some(*p))
        .cloned()
        .collect();
    let reset = before
        .values()
        .filter(|p| !after.contains_key(&p.name))
        .cloned()
        .collect();
    (set, reset)
}

fn group_attrs(
    g: &DbParameterGroup,
    params: &[Parameter],
    tags: &BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let blocks: Vec<Value> = params
        .iter()
        .filter_map(|p| {
            Some(
                Param {
                    name: p.parameter_name()?.to_string(),
                    value: p.parameter_value().unwrap_or("").to_string(),
                    apply_method: p
                        .apply_method()
                        .map_or("immediate", ApplyMethod::as_str)
                        .to_string(),
                }
                .block(),
            )
        })
        .collect();
    Value::map([
        ("id", s(g.db_parameter_group_name())),
        ("name", s(g.db_parameter_group_name())),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("family", s(g.db_parameter_group_family())),
        ("description", s(g.description())),
        ("parameter", Value::List(sort_blocks(blocks))),
        ("arn", s(g.db_parameter_group_arn())),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// Every parameter group of the account and region (one paginated chain).
async fn describe_all(aws: &Aws) -> Result<Vec<DbParameterGroup>, ProviderError> {
    aws.rds
        .describe_db_parameter_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(RDS, "DescribeDBParameterGroups")
}

/// The parameters a user set in one group (`Source=user`): one group per
/// call, as the API has it.
async fn user_parameters(aws: &Aws, name: &str) -> Result<Vec<Parameter>, ProviderError> {
    aws.rds
        .describe_db_parameters()
        .db_parameter_group_name(name)
        .source("user")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(RDS, "DescribeDBParameters")
}

/// A described group with its parameters and tags, in schema shape;
/// `None` when it went away meanwhile.
async fn complete(
    aws: &Aws,
    g: &DbParameterGroup,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let name = g.db_parameter_group_name().unwrap_or_default();
    let Some(params) = found(user_parameters(aws, name).await)? else {
        return Ok(None);
    };
    let tags = match g.db_parameter_group_arn() {
        Some(arn) => found(tags_of(aws, arn).await)?.unwrap_or_default(),
        None => BTreeMap::new(),
    };
    Ok(Some(group_attrs(g, &params, &tags, args)))
}

/// One group by name; `None` when there is none.
async fn read_one(
    aws: &Aws,
    name: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.rds
            .describe_db_parameter_groups()
            .db_parameter_group_name(name)
            .send()
            .await
            .aws(RDS, "DescribeDBParameterGroups"),
    )?;
    match out.and_then(|o| o.db_parameter_groups().first().cloned()) {
        Some(g) => complete(aws, &g, args).await,
        None => Ok(None),
    }
}

/// Sets and resets parameters, [`PARAMETERS_PER_CALL`] at a time.
async fn apply_params(
    aws: &Aws,
    name: &str,
    set: &[Param],
    reset: &[Param],
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    for chunk in set.chunks(PARAMETERS_PER_CALL) {
        let call = aws
            .rds
            .modify_db_parameter_group()
            .db_parameter_group_name(name)
            .set_parameters(Some(chunk.iter().map(Param::sdk).collect()));
        retry(deadline, || async {
            call.clone()
                .send()
                .await
                .aws(RDS, "ModifyDBParameterGroup")
                .map_err(super::in_use_is_transient)
        })
        .await?;
    }
    for chunk in reset.chunks(PARAMETERS_PER_CALL) {
        let call = aws
            .rds
            .reset_db_parameter_group()
            .db_parameter_group_name(name)
            .reset_all_parameters(false)
            .set_parameters(Some(chunk.iter().map(Param::sdk).collect()));
        retry(deadline, || async {
            call.clone()
                .send()
                .await
                .aws(RDS, "ResetDBParameterGroup")
                .map_err(super::in_use_is_transient)
        })
        .await?;
    }
    Ok(())
}

pub(crate) struct DbParameterGroupHandler;

#[async_trait]
impl ResourceHandler for DbParameterGroupHandler {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.iter().all(|k| k.id.is_empty()) {
            return Ok(Vec::new());
        }
        let groups: Vec<DbParameterGroup> = describe_all(aws)
            .await?
            .into_iter()
            .filter(|g| {
                g.db_parameter_group_name()
                    .is_some_and(|n| req.known.iter().any(|k| k.id == n))
            })
            .collect();
        let read = bounded_all(groups.iter().map(|g| async move {
            let id = g.db_parameter_group_name().unwrap_or_default().to_string();
            let known = req.known.iter().find(|k| k.id == id).map(|k| &k.attrs);
            let Some(attrs) = complete(aws, g, known).await? else {
                return Ok(None);
            };
            Ok(Some(LiveResource {
                address: address_of(&id, &live_tags(&attrs), &req.known),
                attrs,
                id,
            }))
        }))
        .await;
        let mut out = Vec::new();
        for r in read {
            out.extend(r?);
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateDBParameterGroup";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "terraform-");
        let call = aws
            .rds
            .create_db_parameter_group()
            .db_parameter_group_name(&name)
            .db_parameter_group_family(required(d, "family", RDS, OP)?)
            .description(opt_str(d, "description").unwrap_or(MANAGED_BY))
            .set_tags(Some(rds_tags(d)));
        match retry(&deadline, || async { call.clone().send().await.aws(RDS, OP) }).await {
            Ok(_) => {}
            Err(e) if has_code(&e, "DBParameterGroupAlreadyExists") => {
                let live = read_one(aws, &name, Some(d)).await?.ok_or(e)?;
                adoptable(req, &schema(), &live, OP, "DB parameter group", &name)?;
            }
            Err(e) => return Err(e),
        }
        async {
            let set: Vec<Param> = params_of(d).into_values().collect();
            apply_params(aws, &name, &set, &[], &deadline).await?;
            read_one(aws, &name, Some(d))
                .await?
                .ok_or_else(|| gone(RDS, "DescribeDBParameterGroups", &name))
        }
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// A parameter group of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "rds:DescribeDBParameterGroups";
        let mut findings = Findings::new();
        if let Some(Some(existing)) = findings.read(ACTION, read_one(aws, name, Some(d)).await)? {
            findings.name_in_use(
                req,
                ACTION,
                "DB parameter group",
                name,
                &live_tags(&existing),
            );
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), RDS, "ModifyDBParameterGroup")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let (set, reset) = param_changes(&prior, d);
        apply_params(aws, name, &set, &reset, &deadline).await?;
        if let Some(arn) = opt_str(&prior, "arn") {
            reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        }
        read_one(aws, name, Some(d))
            .await?
            .ok_or_else(|| gone(RDS, "DescribeDBParameterGroups", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // An instance deleted a moment ago may still use the group.
        ignore_gone(
            retry(&deadline, || async {
                aws.rds
                    .delete_db_parameter_group()
                    .db_parameter_group_name(&req.id)
                    .send()
                    .await
                    .aws(RDS, "DeleteDBParameterGroup")
                    .map_err(super::in_use_is_transient)
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(name: &str, value: &str, method: &str) -> Value {
        Value::map([
            ("name", Value::from(name)),
            ("value", Value::from(value)),
            ("apply_method", Value::from(method)),
        ])
    }

    fn with(params: Vec<Value>) -> Value {
        Value::map([("parameter", Value::List(params))])
    }

    #[test]
    fn changed_and_new_parameters_are_set_and_dropped_ones_reset() {
        let prior = with(vec![
            block("a", "1", "immediate"),
            block("b", "2", "immediate"),
            block("c", "3", "pending-reboot"),
        ]);
        let desired = with(vec![
            block("a", "1", "immediate"),
            block("b", "20", "immediate"),
            block("d", "4", "immediate"),
        ]);
        let (set, reset) = param_changes(&prior, &desired);
        let names = |ps: &[Param]| ps.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&set), ["b", "d"]);
        assert_eq!(names(&reset), ["c"]);
        assert_eq!(reset[0].apply_method, "pending-reboot");
    }

    #[test]
    fn live_parameters_read_back_as_blocks_with_their_apply_method() {
        let g = DbParameterGroup::builder()
            .db_parameter_group_name("pg")
            .db_parameter_group_family("postgres15")
            .description("Managed by Terraform")
            .db_parameter_group_arn("arn:aws:rds:us-east-1:1:pg:pg")
            .build();
        let params = [
            Parameter::builder()
                .parameter_name("work_mem")
                .parameter_value("8192")
                .build(),
            Parameter::builder()
                .parameter_name("log_min_duration_statement")
                .parameter_value("100")
                .apply_method(ApplyMethod::PendingReboot)
                .build(),
        ];
        let v = group_attrs(&g, &params, &BTreeMap::new(), None);
        let read = v.get("parameter").and_then(Value::as_list).unwrap_or(&[]);
        assert_eq!(read.len(), 2, "{read:?}");
        assert!(read.contains(&block("log_min_duration_statement", "100", "pending-reboot")));
        assert!(read.contains(&block("work_mem", "8192", "immediate")));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
