//! `aws_ecs_cluster_capacity_providers`: the capacity providers a cluster
//! may use (e.g. `FARGATE`, `FARGATE_SPOT`) and its default strategy. Its ID
//! is the cluster name.
//!
//! Not an object of its own: create and update put the lists with
//! `PutClusterCapacityProviders` (idempotent, so a create retried after a
//! crash simply puts them again), delete puts empty lists. Refresh reads the
//! known clusters with `DescribeClusters`, 100 a call.

use async_trait::async_trait;
use aws_sdk_ecs::types::{self as ecs, CapacityProviderStrategyItem};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::ecs_cluster::{describe_clusters, is_live};
use super::CLUSTER;
use crate::args::{blocks, num, opt_int, opt_str, req_str, s, set_or_null, sort_blocks, str_list};
use crate::context::Aws;
use crate::elbv2_ecs_util::{gone, invalid, SdkResultExt, ECS};
use crate::error::has_code;
use crate::policy::g;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, Deadline};

/// `aws_ecs_cluster_capacity_providers`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecs_cluster_capacity_providers",
    schema,
    handler: &EcsClusterCapacityProviders,
    grants: &[g(
        &["ecs:DescribeClusters", "ecs:PutClusterCapacityProviders"],
        &[CLUSTER],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ecs_cluster_capacity_providers")
        .doc("The capacity providers of an ECS cluster and its default strategy.")
        .attr(
            AttrSchema::required("cluster_name", AttrType::String)
                .force_new()
                .normalize(super::ecs_service::cluster_name)
                .doc("The cluster's name (also the ID)."),
        )
        .attr(
            AttrSchema::optional("capacity_providers", AttrType::set_of(AttrType::String))
                .doc("Capacity provider names, e.g. FARGATE and FARGATE_SPOT."),
        )
        .block(
            BlockSchema::new("default_capacity_provider_strategy", Nesting::Set)
                .attr(AttrSchema::required("capacity_provider", AttrType::String))
                .attr(AttrSchema::optional("weight", AttrType::Number).default(0))
                .attr(AttrSchema::optional("base", AttrType::Number).default(0)),
        )
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

/// Strategy blocks as ECS strategy items.
pub(crate) fn strategy_items(
    items: &[Value],
) -> Result<Vec<CapacityProviderStrategyItem>, ProviderError> {
    items
        .iter()
        .map(|b| {
            CapacityProviderStrategyItem::builder()
                .set_capacity_provider(opt_str(b, "capacity_provider").map(str::to_string))
                .weight(opt_int(b, "weight").unwrap_or(0) as i32)
                .base(opt_int(b, "base").unwrap_or(0) as i32)
                .build()
                .map_err(|e| invalid(ECS, "PutClusterCapacityProviders", e.to_string()))
        })
        .collect()
}

/// ECS strategy items as blocks, in a stable order.
pub(crate) fn strategy_blocks(items: &[CapacityProviderStrategyItem]) -> Value {
    Value::List(sort_blocks(
        items
            .iter()
            .map(|i| {
                Value::map([
                    ("capacity_provider", s(Some(i.capacity_provider()))),
                    ("weight", num(i.weight())),
                    ("base", num(i.base())),
                ])
            })
            .collect(),
    ))
}

fn attrs(c: &ecs::Cluster) -> Value {
    let name = c.cluster_name().unwrap_or_default();
    Value::map([
        ("id", s(Some(name))),
        ("cluster_name", s(Some(name))),
        (
            "capacity_providers",
            set_or_null(c.capacity_providers().to_vec()),
        ),
        (
            "default_capacity_provider_strategy",
            strategy_blocks(c.default_capacity_provider_strategy()),
        ),
    ])
}

async fn read(aws: &Aws, cluster: &str) -> Result<Option<Value>, ProviderError> {
    Ok(describe_clusters(aws, &[cluster.to_string()])
        .await?
        .iter()
        .find(|c| is_live(c))
        .map(attrs))
}

/// Puts the lists; `providers` and `strategy` empty clear them.
async fn put(
    aws: &Aws,
    cluster: &str,
    providers: Vec<String>,
    strategy: Vec<CapacityProviderStrategyItem>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    // A cluster created a moment ago, or an update of it still in
    // progress, is transient.
    retry(deadline, || async {
        aws.ecs
            .put_cluster_capacity_providers()
            .cluster(cluster)
            .set_capacity_providers(Some(providers.clone()))
            .set_default_capacity_provider_strategy(Some(strategy.clone()))
            .send()
            .await
            .ecs("PutClusterCapacityProviders")
    })
    .await
    .map(|_| ())
}

async fn apply(aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
    let deadline = Deadline::after(req.timeout);
    let d = &req.desired;
    let cluster = req_str(d, "cluster_name", "PutClusterCapacityProviders")?;
    let strategy = strategy_items(blocks(d, "default_capacity_provider_strategy"))?;
    put(
        aws,
        cluster,
        str_list(d, "capacity_providers"),
        strategy,
        &deadline,
    )
    .await?;
    read(aws, cluster)
        .await?
        .ok_or_else(|| gone(ECS, "DescribeClusters", cluster))
}

pub(crate) struct EcsClusterCapacityProviders;

#[async_trait]
impl ResourceHandler for EcsClusterCapacityProviders {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let names: Vec<String> = req.known.iter().map(|k| k.id.clone()).collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let clusters = describe_clusters(aws, &names).await?;
        Ok(req
            .known
            .iter()
            .filter_map(|k| {
                let c = clusters.iter().filter(|c| is_live(c)).find(|c| {
                    c.cluster_name() == Some(k.id.as_str())
                        || c.cluster_arn() == Some(k.id.as_str())
                })?;
                Some(LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs: attrs(c),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        apply(aws, req).await
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        apply(aws, req).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        match put(aws, &req.id, Vec::new(), Vec::new(), &deadline).await {
            // The cluster is gone, and its associations with it.
            Err(e) if has_code(&e, "ClusterNotFoundException") => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_blocks_round_trip() {
        let blocks_in = vec![
            Value::map([
                ("capacity_provider", Value::from("FARGATE_SPOT")),
                ("weight", Value::from(3)),
            ]),
            Value::map([
                ("capacity_provider", Value::from("FARGATE")),
                ("weight", Value::from(1)),
                ("base", Value::from(1)),
            ]),
        ];
        let items = strategy_items(&blocks_in).unwrap();
        assert_eq!(items[0].capacity_provider(), "FARGATE_SPOT");
        assert_eq!(items[0].base(), 0);
        let back = strategy_blocks(&items);
        let schema = schema();
        let block = schema
            .body
            .find_block("default_capacity_provider_strategy")
            .unwrap();
        assert_eq!(
            stackd_engine::diff::normalize_blocks(block, &Value::List(blocks_in)),
            stackd_engine::diff::normalize_blocks(block, &back)
        );
    }

    #[test]
    fn a_strategy_without_provider_is_refused() {
        let err = strategy_items(&[Value::map([("weight", Value::from(1))])]).unwrap_err();
        assert_eq!(err.kind, stackd_engine::provider::ErrorKind::Permanent);
    }

    #[test]
    fn live_associations_are_in_schema_shape() {
        let c = ecs::Cluster::builder()
            .cluster_name("main")
            .cluster_arn("arn:aws:ecs:eu-west-1:1:cluster/main")
            .status("ACTIVE")
            .capacity_providers("FARGATE_SPOT")
            .capacity_providers("FARGATE")
            .default_capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE")
                    .weight(1)
                    .build()
                    .unwrap(),
            )
            .build();
        let v = attrs(&c);
        assert_eq!(v.get("id"), Some(&Value::from("main")));
        assert_eq!(
            v.get("capacity_providers"),
            Some(&Value::from(vec!["FARGATE", "FARGATE_SPOT"]))
        );
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
