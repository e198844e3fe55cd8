//! `aws_ecs_cluster`: an ECS cluster, with its `setting` blocks (e.g.
//! `containerInsights`) and its `configuration` block (ECS Exec's logging
//! and key, and the key of Fargate's managed storage).
//!
//! Refresh lists the region's clusters and describes them 100 at a time
//! with their tags and settings (`ListClusters` then `DescribeClusters`:
//! ECS cannot filter on tags). An `INACTIVE` cluster is a deleted one.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    self as ecs, ClusterConfiguration, ClusterField, ClusterSetting, ClusterSettingName,
    ExecuteCommandConfiguration, ExecuteCommandLogConfiguration, ExecuteCommandLogging,
    ManagedStorageConfiguration,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::CLUSTER;
use crate::args::{blocks, bool_or, opt_str, req_str, s, sort_blocks};
use crate::context::Aws;
use crate::elbv2_ecs_util::{
    address_for, conflict, ecs_reconcile_tags, ecs_tag_map, ecs_tags, gone, in_service, invalid,
    is_owned, made_for, tags_value, SdkResultExt, ECS,
};
use crate::error::{after_create, ignore_not_found};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::iam::ECS_SERVICE_LINKED_ROLE;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

/// `DescribeClusters` takes at most 100 clusters.
const CLUSTERS_PER_CALL: usize = 100;

/// `aws_ecs_cluster`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecs_cluster",
    schema,
    handler: &EcsCluster,
    grants: &[
        g(&["ecs:ListClusters"], ANY),
        g(
            &[
                "ecs:CreateCluster",
                "ecs:DeleteCluster",
                "ecs:DescribeClusters",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:UpdateCluster",
            ],
            &[CLUSTER],
        ),
        g(&["iam:CreateServiceLinkedRole"], &[ECS_SERVICE_LINKED_ROLE]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ecs_cluster")
        .doc("An ECS cluster.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The cluster name."),
        )
        .block(
            BlockSchema::new("setting", Nesting::Set)
                .computed_when_absent()
                .attr(AttrSchema::required("name", AttrType::String))
                .attr(AttrSchema::required("value", AttrType::String)),
        )
        .block(
            BlockSchema::new("configuration", Nesting::Single)
                .block(
                    BlockSchema::new("execute_command_configuration", Nesting::Single)
                        .attr(AttrSchema::optional("kms_key_id", AttrType::String))
                        .attr(AttrSchema::optional("logging", AttrType::String).check(
                            stackd_spec::schema::Check::OneOf(vec!["NONE", "DEFAULT", "OVERRIDE"]),
                        ))
                        .block(
                            BlockSchema::new("log_configuration", Nesting::Single)
                                .attr(AttrSchema::optional(
                                    "cloud_watch_encryption_enabled",
                                    AttrType::Bool,
                                ))
                                .attr(AttrSchema::optional(
                                    "cloud_watch_log_group_name",
                                    AttrType::String,
                                ))
                                .attr(AttrSchema::optional(
                                    "s3_bucket_encryption_enabled",
                                    AttrType::Bool,
                                ))
                                .attr(AttrSchema::optional("s3_bucket_name", AttrType::String))
                                .attr(AttrSchema::optional("s3_key_prefix", AttrType::String)),
                        ),
                )
                .block(
                    BlockSchema::new("managed_storage_configuration", Nesting::Single)
                        .attr(AttrSchema::optional(
                            "fargate_ephemeral_storage_kms_key_id",
                            AttrType::String,
                        ))
                        .attr(AttrSchema::optional("kms_key_id", AttrType::String)),
                ),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ARN (also the ID)."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 10 * 60,
        })
}

/// True for a cluster that exists (not deleted).
pub(crate) fn is_live(c: &ecs::Cluster) -> bool {
    !matches!(c.status(), Some("INACTIVE") | None)
}

pub(crate) fn cluster_attrs(c: &ecs::Cluster) -> Value {
    let arn = c.cluster_arn().unwrap_or_default();
    let settings = c
        .settings()
        .iter()
        .map(|st| {
            Value::map([
                ("name", s(st.name().map(ClusterSettingName::as_str))),
                ("value", s(st.value())),
            ])
        })
        .collect();
    Value::map([
        ("id", s(Some(arn))),
        ("arn", s(Some(arn))),
        ("name", s(c.cluster_name())),
        ("setting", Value::List(sort_blocks(settings))),
        ("configuration", configuration_value(c.configuration())),
        ("tags_all", tags_value(&ecs_tag_map(c.tags()))),
    ])
}

/// A block of zero or one item.
fn single(item: Option<Value>) -> Value {
    Value::List(item.into_iter().collect())
}

/// The `configuration` block as ECS describes it (an empty list when the
/// cluster has none).
fn configuration_value(c: Option<&ClusterConfiguration>) -> Value {
    single(c.map(|c| {
        let exec = c.execute_command_configuration().map(|e| {
            let log = e.log_configuration().map(|l| {
                Value::map([
                    (
                        "cloud_watch_encryption_enabled",
                        Value::Bool(l.cloud_watch_encryption_enabled()),
                    ),
                    (
                        "cloud_watch_log_group_name",
                        s(l.cloud_watch_log_group_name()),
                    ),
                    (
                        "s3_bucket_encryption_enabled",
                        Value::Bool(l.s3_encryption_enabled()),
                    ),
                    ("s3_bucket_name", s(l.s3_bucket_name())),
                    ("s3_key_prefix", s(l.s3_key_prefix())),
                ])
            });
            Value::map([
                ("kms_key_id", s(e.kms_key_id())),
                ("logging", s(e.logging().map(ExecuteCommandLogging::as_str))),
                ("log_configuration", single(log)),
            ])
        });
        let storage = c.managed_storage_configuration().map(|m| {
            Value::map([
                (
                    "fargate_ephemeral_storage_kms_key_id",
                    s(m.fargate_ephemeral_storage_kms_key_id()),
                ),
                ("kms_key_id", s(m.kms_key_id())),
            ])
        });
        Value::map([
            ("execute_command_configuration", single(exec)),
            ("managed_storage_configuration", single(storage)),
        ])
    }))
}

/// The `configuration` block as ECS takes it; `None` when the spec has none.
fn configuration(desired: &Value) -> Option<ClusterConfiguration> {
    let c = blocks(desired, "configuration").first()?;
    let exec = blocks(c, "execute_command_configuration").first().map(|e| {
        let log = blocks(e, "log_configuration").first().map(|l| {
            ExecuteCommandLogConfiguration::builder()
                .cloud_watch_encryption_enabled(bool_or(l, "cloud_watch_encryption_enabled", false))
                .set_cloud_watch_log_group_name(
                    opt_str(l, "cloud_watch_log_group_name").map(str::to_string),
                )
                .s3_encryption_enabled(bool_or(l, "s3_bucket_encryption_enabled", false))
                .set_s3_bucket_name(opt_str(l, "s3_bucket_name").map(str::to_string))
                .set_s3_key_prefix(opt_str(l, "s3_key_prefix").map(str::to_string))
                .build()
        });
        ExecuteCommandConfiguration::builder()
            .set_kms_key_id(opt_str(e, "kms_key_id").map(str::to_string))
            .set_logging(opt_str(e, "logging").map(ExecuteCommandLogging::from))
            .set_log_configuration(log)
            .build()
    });
    let storage = blocks(c, "managed_storage_configuration").first().map(|m| {
        ManagedStorageConfiguration::builder()
            .set_fargate_ephemeral_storage_kms_key_id(
                opt_str(m, "fargate_ephemeral_storage_kms_key_id").map(str::to_string),
            )
            .set_kms_key_id(opt_str(m, "kms_key_id").map(str::to_string))
            .build()
    });
    Some(
        ClusterConfiguration::builder()
            .set_execute_command_configuration(exec)
            .set_managed_storage_configuration(storage)
            .build(),
    )
}

fn settings(desired: &Value) -> Option<Vec<ClusterSetting>> {
    let items = blocks(desired, "setting");
    (!items.is_empty()).then(|| {
        items
            .iter()
            .map(|b| {
                ClusterSetting::builder()
                    .set_name(opt_str(b, "name").map(ClusterSettingName::from))
                    .set_value(opt_str(b, "value").map(str::to_string))
                    .build()
            })
            .collect()
    })
}

/// Clusters by name or ARN, with tags and settings; missing ones are left
/// out (ECS reports them as failures, not errors).
pub(crate) async fn describe_clusters(
    aws: &Aws,
    names: &[String],
) -> Result<Vec<ecs::Cluster>, ProviderError> {
    let mut out = Vec::new();
    for chunk in names.chunks(CLUSTERS_PER_CALL) {
        let answer = aws
            .ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(ClusterField::Tags)
            .include(ClusterField::Settings)
            .include(ClusterField::Configurations)
            .send()
            .await
            .ecs("DescribeClusters")?;
        out.extend(answer.clusters().iter().cloned());
    }
    Ok(out)
}

/// One live cluster; `None` when it is gone or deleted.
pub(crate) async fn describe_one(aws: &Aws, name: &str) -> Result<Option<ecs::Cluster>, ProviderError> {
    Ok(describe_clusters(aws, &[name.to_string()])
        .await?
        .into_iter()
        .find(is_live))
}

pub(crate) struct EcsCluster;

#[async_trait]
impl ResourceHandler for EcsCluster {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let arns = aws
            .ecs
            .list_clusters()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .ecs("ListClusters")?;
        let clusters = describe_clusters(aws, &arns).await?;
        Ok(clusters
            .into_iter()
            .filter(is_live)
            .filter_map(|c| {
                let id = c.cluster_arn()?.to_string();
                let tags = ecs_tag_map(c.tags());
                is_owned(&id, &tags, &req.known, &req.owner).then(|| LiveResource {
                    address: address_for(&id, &tags, &req.known),
                    attrs: cluster_attrs(&c),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = req_str(d, "name", "CreateCluster")?;
        // CreateCluster answers with an existing cluster of the same name
        // rather than failing: check whose it is first.
        if let Some(existing) = describe_one(aws, name).await? {
            let tags = ecs_tag_map(existing.tags());
            if !made_for(&tags, &req.owner, &req.address) {
                return Err(conflict(
                    ECS,
                    "CreateCluster",
                    &format!("ECS cluster {name:?}"),
                    &req.address,
                    &req.owner,
                    &tags,
                ));
            }
        }
        let call = aws
            .ecs
            .create_cluster()
            .cluster_name(name)
            .set_settings(settings(d))
            .set_configuration(configuration(d))
            .set_tags(ecs_tags(d));
        let out = retry(&deadline, || async {
            call.clone().send().await.ecs("CreateCluster")
        })
        .await?;
        let arn = out
            .cluster()
            .and_then(|c| c.cluster_arn())
            .ok_or_else(|| invalid(ECS, "CreateCluster", "the answer carries no ARN"))?
            .to_string();
        retry(&deadline, || async {
            let c = describe_one(aws, name).await?.ok_or_else(|| {
                let mut e = gone(ECS, "DescribeClusters", &arn);
                e.kind = ErrorKind::Transient;
                e
            })?;
            Ok(cluster_attrs(&c))
        })
        .await
        .map_err(|e| after_create(&arn, e))
    }

    /// An ACTIVE cluster of the same (known) name is looked up (CreateCluster
    /// would answer with it rather than fail).
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(name) = creating(req).and_then(|d| known_str(d, "name")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "ecs:DescribeClusters";
        let mut findings = Findings::new();
        let clusters = findings.read(ACTION, describe_clusters(aws, &[name.to_string()]).await)?;
        let active = clusters.unwrap_or_default().into_iter().find(|c| {
            c.status() == Some("ACTIVE")
                && (c.cluster_name() == Some(name) || c.cluster_arn() == Some(name))
        });
        if let Some(c) = active {
            findings.name_in_use(req, ACTION, "ECS cluster", name, &ecs_tag_map(c.tags()));
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(ECS, "UpdateCluster", "update without an ID"))?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        // Settings and configuration go in one UpdateCluster call.
        let settings = settings(d).filter(|_| req.changed.iter().any(|c| c == "setting"));
        // A configuration removed from the spec is sent empty: ECS keeps
        // the old one when the field is left out.
        let configuration = req
            .changed
            .iter()
            .any(|c| c == "configuration")
            .then(|| configuration(d).unwrap_or_else(|| ClusterConfiguration::builder().build()));
        if settings.is_some() || configuration.is_some() {
            retry(&deadline, || async {
                aws.ecs
                    .update_cluster()
                    .cluster(arn)
                    .set_settings(settings.clone())
                    .set_configuration(configuration.clone())
                    .send()
                    .await
                    .ecs("UpdateCluster")
            })
            .await?;
        }
        ecs_reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        let c = describe_one(aws, arn)
            .await?
            .ok_or_else(|| gone(ECS, "DescribeClusters", arn))?;
        Ok(cluster_attrs(&c))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // Services still draining (ClusterContainsServicesException) are
        // transient: retried here until the deadline, then by the engine.
        ignore_not_found(
            retry(&deadline, || async {
                aws.ecs
                    .delete_cluster()
                    .cluster(&req.id)
                    .send()
                    .await
                    .ecs("DeleteCluster")
                    .map(|_| ())
            })
            .await,
        )?;
        until(
            &deadline,
            "DescribeClusters",
            &format!("{} to be inactive", req.id),
            || async { Ok(describe_one(aws, &req.id).await?.is_none().then_some(())) },
        )
        .await
        .map_err(|e| in_service(ECS, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ecs:eu-west-1:123:cluster/main";

    #[test]
    fn live_cluster_is_in_schema_shape() {
        let c = ecs::Cluster::builder()
            .cluster_arn(ARN)
            .cluster_name("main")
            .status("ACTIVE")
            .settings(
                ClusterSetting::builder()
                    .name(ClusterSettingName::ContainerInsights)
                    .value("enabled")
                    .build(),
            )
            .tags(ecs::Tag::builder().key("Name").value("main").build())
            .build();
        assert!(is_live(&c));
        let v = cluster_attrs(&c);
        assert_eq!(v.get("id"), Some(&Value::from(ARN)));
        assert_eq!(
            v.get("setting"),
            Some(&Value::List(vec![Value::map([
                ("name", Value::from("containerInsights")),
                ("value", Value::from("enabled")),
            ])]))
        );
        assert_eq!(
            v.get("tags_all"),
            Some(&Value::map([("Name", Value::from("main"))]))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn deleted_clusters_are_not_live() {
        let c = ecs::Cluster::builder()
            .cluster_arn(ARN)
            .status("INACTIVE")
            .build();
        assert!(!is_live(&c));
    }

    #[test]
    fn setting_blocks_become_cluster_settings() {
        let d = Value::map([(
            "setting",
            Value::List(vec![Value::map([
                ("name", Value::from("containerInsights")),
                ("value", Value::from("enabled")),
            ])]),
        )]);
        let st = settings(&d).unwrap();
        assert_eq!(st[0].name(), Some(&ClusterSettingName::ContainerInsights));
        assert_eq!(st[0].value(), Some("enabled"));
        assert!(settings(&Value::map([("setting", Value::Null)])).is_none());
    }
}
