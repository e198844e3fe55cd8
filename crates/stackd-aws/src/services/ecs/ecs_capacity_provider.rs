//! `aws_ecs_capacity_provider`: an ECS capacity provider over an EC2 Auto
//! Scaling group (managed scaling and termination protection). Its ID is
//! its ARN, as in Terraform; the import ID is its name.
//!
//! A refresh is one `DescribeCapacityProviders` call chain naming every
//! known provider (the answer carries tags). `CreateCapacityProvider` fails
//! on a taken name; the provider is then taken only when its tags say this
//! address of this stack made it.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    self as ecs, AutoScalingGroupProvider, CapacityProviderField, ManagedScaling,
    ManagedScalingStatus, ManagedTerminationProtection,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::CAPACITY_PROVIDER;
use crate::args::{blocks, num, opt_int, opt_str, req_str, s};
use crate::context::Aws;
use crate::elbv2_ecs_util::{
    address_for, at_most_one, conflict, ecs_reconcile_tags, ecs_tag_map, ecs_tags, gone, invalid, made_for,
    tags_value, SdkResultExt, ECS,
};
use crate::error::{after_create, has_code, ignore_not_found};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_ecs_capacity_provider`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecs_capacity_provider",
    schema,
    handler: &EcsCapacityProvider,
    grants: &[
        g(&["ecs:DescribeCapacityProviders"], ANY),
        g(
            &[
                "ecs:CreateCapacityProvider",
                "ecs:DeleteCapacityProvider",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:UpdateCapacityProvider",
            ],
            &[CAPACITY_PROVIDER],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ecs_capacity_provider")
        .doc("An ECS capacity provider over an EC2 Auto Scaling group.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The provider's name."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ARN (also the ID)."))
        .block(at_most_one(
            BlockSchema::new("auto_scaling_group_provider", Nesting::List)
                .required()
                .attr(
                    AttrSchema::required("auto_scaling_group_arn", AttrType::String)
                        .force_new()
                        .doc("The Auto Scaling group's ARN."),
                )
                .attr(
                    AttrSchema::optional_computed("managed_termination_protection", AttrType::String)
                        .doc("ENABLED or DISABLED."),
                )
                .attr(
                    AttrSchema::optional_computed("managed_draining", AttrType::String)
                        .doc("ENABLED or DISABLED."),
                )
                .block(at_most_one(
                    BlockSchema::new("managed_scaling", Nesting::List)
                        .computed_when_absent()
                        .attr(AttrSchema::optional_computed("status", AttrType::String))
                        .attr(AttrSchema::optional_computed("target_capacity", AttrType::Number))
                        .attr(AttrSchema::optional_computed(
                            "minimum_scaling_step_size",
                            AttrType::Number,
                        ))
                        .attr(AttrSchema::optional_computed(
                            "maximum_scaling_step_size",
                            AttrType::Number,
                        ))
                        .attr(AttrSchema::optional_computed(
                            "instance_warmup_period",
                            AttrType::Number,
                        )),
                )),
        ))
        .taggable()
}

fn provider_attrs(p: &ecs::CapacityProvider) -> Value {
    let asg = p.auto_scaling_group_provider();
    let scaling = asg.and_then(|a| a.managed_scaling()).map(|m| {
        Value::map([
            ("status", s(m.status().map(ManagedScalingStatus::as_str))),
            ("target_capacity", m.target_capacity().map(num).unwrap_or(Value::Null)),
            (
                "minimum_scaling_step_size",
                m.minimum_scaling_step_size().map(num).unwrap_or(Value::Null),
            ),
            (
                "maximum_scaling_step_size",
                m.maximum_scaling_step_size().map(num).unwrap_or(Value::Null),
            ),
            (
                "instance_warmup_period",
                m.instance_warmup_period().map(num).unwrap_or(Value::Null),
            ),
        ])
    });
    let group = asg.map(|a| {
        Value::map([
            ("auto_scaling_group_arn", Value::from(a.auto_scaling_group_arn())),
            (
                "managed_termination_protection",
                s(a.managed_termination_protection()
                    .map(ManagedTerminationProtection::as_str)),
            ),
            (
                "managed_draining",
                s(a.managed_draining().map(|d| d.as_str())),
            ),
            ("managed_scaling", Value::List(scaling.into_iter().collect())),
        ])
    });
    Value::map([
        ("id", s(p.capacity_provider_arn())),
        ("arn", s(p.capacity_provider_arn())),
        ("name", s(p.name())),
        ("auto_scaling_group_provider", Value::List(group.into_iter().collect())),
        ("tags_all", tags_value(&ecs_tag_map(p.tags()))),
    ])
}

/// The spec's managed scaling, as ECS takes it.
fn managed_scaling(group: &Value) -> Option<ManagedScaling> {
    let m = blocks(group, "managed_scaling").first()?;
    let int = |k: &str| opt_int(m, k).map(|n| n as i32);
    Some(
        ManagedScaling::builder()
            .set_status(opt_str(m, "status").map(ManagedScalingStatus::from))
            .set_target_capacity(int("target_capacity"))
            .set_minimum_scaling_step_size(int("minimum_scaling_step_size"))
            .set_maximum_scaling_step_size(int("maximum_scaling_step_size"))
            .set_instance_warmup_period(int("instance_warmup_period"))
            .build(),
    )
}

/// Capacity providers by name or ARN, with their tags.
async fn describe(aws: &Aws, names: &[String]) -> Result<Vec<ecs::CapacityProvider>, ProviderError> {
    let mut out = Vec::new();
    // DescribeCapacityProviders takes at most 100 names per call.
    for chunk in names.chunks(100) {
        let mut token = None;
        loop {
            let page = aws
                .ecs
                .describe_capacity_providers()
                .set_capacity_providers(Some(chunk.to_vec()))
                .include(CapacityProviderField::Tags)
                .set_next_token(token)
                .send()
                .await
                .ecs("DescribeCapacityProviders")?;
            out.extend(
                page.capacity_providers()
                    .iter()
                    .filter(|p| p.status().map(|s| s.as_str()) != Some("INACTIVE"))
                    .cloned(),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

async fn describe_one(aws: &Aws, name: &str) -> Result<Option<ecs::CapacityProvider>, ProviderError> {
    Ok(describe(aws, &[name.to_string()])
        .await?
        .into_iter()
        .find(|p| p.name() == Some(name) || p.capacity_provider_arn() == Some(name)))
}

pub(crate) struct EcsCapacityProvider;

#[async_trait]
impl ResourceHandler for EcsCapacityProvider {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let names: Vec<String> = req
            .known
            .iter()
            .map(|k| opt_str(&k.attrs, "name").unwrap_or(&k.id).to_string())
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        Ok(describe(aws, &names)
            .await?
            .iter()
            .filter_map(|p| {
                let arn = p.capacity_provider_arn()?;
                let name = p.name().unwrap_or_default();
                // Known by its ARN, or by its name after an import.
                let k = req
                    .known
                    .iter()
                    .find(|k| k.id == arn || k.id == name)?;
                let tags = ecs_tag_map(p.tags());
                Some(LiveResource {
                    id: k.id.clone(),
                    address: address_for(&k.id, &tags, &req.known),
                    attrs: provider_attrs(p),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateCapacityProvider";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = req_str(d, "name", OP)?;
        let group = blocks(d, "auto_scaling_group_provider")
            .first()
            .cloned()
            .unwrap_or(Value::Null);
        let provider = AutoScalingGroupProvider::builder()
            .auto_scaling_group_arn(req_str(&group, "auto_scaling_group_arn", OP)?)
            .set_managed_scaling(managed_scaling(&group))
            .set_managed_termination_protection(
                opt_str(&group, "managed_termination_protection")
                    .map(ManagedTerminationProtection::from),
            )
            .set_managed_draining(
                opt_str(&group, "managed_draining").map(ecs::ManagedDraining::from),
            )
            .build()
            .map_err(|e| invalid(ECS, OP, e.to_string()))?;
        let call = aws
            .ecs
            .create_capacity_provider()
            .name(name)
            .auto_scaling_group_provider(provider)
            .set_tags(ecs_tags(d));
        match retry(&deadline, || async { call.clone().send().await.ecs(OP) }).await {
            Ok(_) => {}
            Err(e) if e.message.contains("already exists") || has_code(&e, "ResourceInUseException") => {
                let existing = describe_one(aws, name).await?.ok_or(e)?;
                let tags = ecs_tag_map(existing.tags());
                if !made_for(&tags, &req.owner, &req.address) {
                    return Err(conflict(
                        ECS,
                        OP,
                        &format!("ECS capacity provider {name:?}"),
                        &req.address,
                        &req.owner,
                        &tags,
                    ));
                }
                tracing::info!(capacity_provider = %name, "adopting the capacity provider an earlier attempt created");
            }
            Err(e) => return Err(e),
        }
        until(
            &deadline,
            "DescribeCapacityProviders",
            &format!("capacity provider {name} to be active"),
            || async { Ok(describe_one(aws, name).await?.map(|p| provider_attrs(&p))) },
        )
        .await
        .map_err(|e| after_create(name, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "UpdateCapacityProvider";
        let deadline = Deadline::after(req.timeout);
        let arn = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(ECS, OP, "update without an ID"))?;
        let d = &req.desired;
        let name = req_str(d, "name", OP)?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        if req.changed.iter().any(|c| c == "auto_scaling_group_provider") {
            let group = blocks(d, "auto_scaling_group_provider")
                .first()
                .cloned()
                .unwrap_or(Value::Null);
            let update = ecs::AutoScalingGroupProviderUpdate::builder()
                .set_managed_scaling(managed_scaling(&group))
                .set_managed_termination_protection(
                    opt_str(&group, "managed_termination_protection")
                        .map(ManagedTerminationProtection::from),
                )
                .set_managed_draining(
                    opt_str(&group, "managed_draining").map(ecs::ManagedDraining::from),
                )
                .build();
            retry(&deadline, || async {
                aws.ecs
                    .update_capacity_provider()
                    .name(name)
                    .auto_scaling_group_provider(update.clone())
                    .send()
                    .await
                    .ecs(OP)
            })
            .await?;
        }
        ecs_reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        describe_one(aws, name)
            .await?
            .map(|p| provider_attrs(&p))
            .ok_or_else(|| gone(ECS, "DescribeCapacityProviders", arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        ignore_not_found(
            retry(&deadline, || async {
                aws.ecs
                    .delete_capacity_provider()
                    .capacity_provider(&req.id)
                    .send()
                    .await
                    .ecs("DeleteCapacityProvider")
                    .map(|_| ())
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_provider_is_in_schema_shape() {
        let p = ecs::CapacityProvider::builder()
            .name("cp")
            .capacity_provider_arn("arn:aws:ecs:us-east-1:1:capacity-provider/cp")
            .auto_scaling_group_provider(
                AutoScalingGroupProvider::builder()
                    .auto_scaling_group_arn("arn:asg")
                    .managed_scaling(
                        ManagedScaling::builder()
                            .status(ManagedScalingStatus::Enabled)
                            .target_capacity(100)
                            .build(),
                    )
                    .build()
                    .expect("provider"),
            )
            .build();
        let v = provider_attrs(&p);
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
        let group = &blocks(&v, "auto_scaling_group_provider")[0];
        assert_eq!(
            blocks(group, "managed_scaling")[0].get("target_capacity"),
            Some(&Value::from(100))
        );
    }
}
