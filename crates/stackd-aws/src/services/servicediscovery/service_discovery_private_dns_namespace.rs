//! `aws_service_discovery_private_dns_namespace`: a Cloud Map namespace
//! whose services are DNS names in a Route 53 private hosted zone of one
//! VPC (Cloud Map makes the zone; `hosted_zone` is its ID). Its ID is the
//! namespace ID; Terraform's import ID is `NAMESPACE_ID:VPC_ID`, taken
//! here too (Cloud Map never answers the VPC: it is kept from the spec).
//!
//! Create, update and delete are asynchronous operations, waited for with
//! `GetOperation`. The create carries a `CreatorRequestId` derived from the
//! create's token, so a create sent again after a lost answer is the same
//! request to Cloud Map. A refresh is one `ListNamespaces` chain for every
//! known namespace, then `ListTagsForResource` per namespace found (no batch
//! form).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_servicediscovery::types::{
    FilterCondition, NamespaceFilter, NamespaceFilterName, NamespaceSummary, NamespaceType,
    OperationTargetType, PrivateDnsNamespaceChange,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{
    delete_when_free, reconcile_tags, sdk_tags, tags_of, wait_operation, DISCOVERY_SERVICE,
    NAMESPACE, SD,
};
use crate::args::{client_token, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, bounded_all, conflict, echo, found, gone, ignore_gone, invalid, live_tags, ours,
    required, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::route53::HOSTED_ZONE;
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::desired_tags;
use crate::wait::{retry, until, Deadline};

/// `aws_service_discovery_private_dns_namespace`: its schema, its handler,
/// and the IAM grants of every call it makes (Cloud Map makes and deletes
/// the hosted zone with the caller's permissions).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_service_discovery_private_dns_namespace",
    schema,
    handler: &PrivateDnsNamespace,
    grants: &[
        g(
            &[
                "servicediscovery:CreatePrivateDnsNamespace",
                "servicediscovery:GetOperation",
                "servicediscovery:ListNamespaces",
                "route53:CreateHostedZone",
                "route53:ListHostedZonesByName",
                "ec2:DescribeVpcs",
            ],
            ANY,
        ),
        g(
            &[
                "servicediscovery:DeleteNamespace",
                "servicediscovery:ListTagsForResource",
                "servicediscovery:TagResource",
                "servicediscovery:UntagResource",
                "servicediscovery:UpdatePrivateDnsNamespace",
            ],
            &[NAMESPACE, DISCOVERY_SERVICE],
        ),
        g(
            &["route53:GetHostedZone", "route53:DeleteHostedZone"],
            &[HOSTED_ZONE],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_service_discovery_private_dns_namespace")
        .doc("A Cloud Map namespace of DNS names in a private hosted zone of one VPC.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The namespace's DNS name (`internal.example`)."),
        )
        .attr(
            AttrSchema::required("vpc", AttrType::String)
                .force_new()
                .doc("The VPC the hosted zone is associated with."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("A description."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The namespace's ARN."))
        .attr(
            AttrSchema::computed("hosted_zone", AttrType::String)
                .doc("The ID of the Route 53 hosted zone Cloud Map made."),
        )
        .taggable()
}

/// The namespace ID and, from Terraform's import ID `NS:VPC`, the VPC.
fn parse_id(id: &str) -> (&str, Option<&str>) {
    match id.split_once(':') {
        Some((ns, vpc)) if !ns.is_empty() && !vpc.is_empty() => (ns, Some(vpc)),
        _ => (id, None),
    }
}

fn namespace_attrs(
    ns: &NamespaceSummary,
    tags: &BTreeMap<String, String>,
    vpc: Value,
) -> Value {
    Value::map([
        ("id", s(ns.id())),
        ("arn", s(ns.arn())),
        ("name", s(ns.name())),
        ("vpc", vpc),
        ("description", s(ns.description())),
        (
            "hosted_zone",
            s(ns.properties()
                .and_then(|p| p.dns_properties())
                .and_then(|d| d.hosted_zone_id())),
        ),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// Every private DNS namespace of the account and region, by ID (one
/// `ListNamespaces` chain).
async fn list_private(aws: &Aws) -> Result<BTreeMap<String, NamespaceSummary>, ProviderError> {
    let filter = NamespaceFilter::builder()
        .name(NamespaceFilterName::Type)
        .values(NamespaceType::DnsPrivate.as_str())
        .condition(FilterCondition::Eq)
        .build()
        .map_err(|e| invalid(SD, "ListNamespaces", e.to_string()))?;
    let pages = aws
        .servicediscovery
        .list_namespaces()
        .filters(filter)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(SD, "ListNamespaces")?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.namespaces.unwrap_or_default())
        // A server may ignore the filter.
        .filter(|n| n.r#type() == Some(&NamespaceType::DnsPrivate))
        .filter_map(|n| Some((n.id()?.to_string(), n)))
        .collect())
}

/// The namespace with this ID, with its tags; `None` when it is gone.
async fn read(aws: &Aws, id: &str, vpc: Value) -> Result<Option<Value>, ProviderError> {
    let all = list_private(aws).await?;
    let Some(ns) = all.get(id) else {
        return Ok(None);
    };
    let tags = match ns.arn() {
        Some(arn) => tags_of(aws, arn).await?,
        None => BTreeMap::new(),
    };
    Ok(Some(namespace_attrs(ns, &tags, vpc)))
}

/// The private namespace of this name, with its tags, if there is one.
async fn read_by_name(
    aws: &Aws,
    name: &str,
    vpc: Value,
) -> Result<Option<Value>, ProviderError> {
    let all = list_private(aws).await?;
    let Some(ns) = all.values().find(|n| n.name() == Some(name)) else {
        return Ok(None);
    };
    let tags = match ns.arn() {
        Some(arn) => tags_of(aws, arn).await?,
        None => BTreeMap::new(),
    };
    Ok(Some(namespace_attrs(ns, &tags, vpc)))
}

/// The VPC of a known namespace: recorded, or from the import ID.
fn known_vpc(k: &KnownResource) -> Value {
    let (_, vpc) = parse_id(&k.id);
    echo(Some(&k.attrs), "vpc", vpc.map(Value::from).unwrap_or(Value::Null))
}

pub(crate) struct PrivateDnsNamespace;

#[async_trait]
impl ResourceHandler for PrivateDnsNamespace {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.iter().all(|k| k.id.is_empty()) {
            return Ok(Vec::new());
        }
        let all = list_private(aws).await?;
        let wanted: Vec<(&KnownResource, &NamespaceSummary)> = req
            .known
            .iter()
            .filter_map(|k| Some((k, all.get(parse_id(&k.id).0)?)))
            .collect();
        // No batch form of ListTagsForResource.
        let tags = bounded_all(wanted.iter().map(|(_, ns)| async move {
            match ns.arn() {
                Some(arn) => found(tags_of(aws, arn).await).map(Option::unwrap_or_default),
                None => Ok(BTreeMap::new()),
            }
        }))
        .await;
        let mut out = Vec::new();
        for ((k, ns), tags) in wanted.into_iter().zip(tags) {
            let tags = tags?;
            let id = parse_id(&k.id).0.to_string();
            out.push(LiveResource {
                address: address_of(&k.id, &tags, &req.known),
                attrs: namespace_attrs(ns, &tags, known_vpc(k)),
                id,
            });
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", SD, "CreatePrivateDnsNamespace")?;
        let vpc = required(d, "vpc", SD, "CreatePrivateDnsNamespace")?;
        let call = aws
            .servicediscovery
            .create_private_dns_namespace()
            .name(name)
            .vpc(vpc)
            // The same request ID makes a create sent again the same one.
            .creator_request_id(client_token(&req.idempotency_token))
            .set_description(opt_str(d, "description").map(str::to_string))
            .set_tags(Some(sdk_tags(&desired_tags(d), "CreatePrivateDnsNamespace")?));
        let operation = match retry(&deadline, || async {
            call.clone()
                .send()
                .await
                .aws(SD, "CreatePrivateDnsNamespace")
        })
        .await
        {
            Ok(out) => out.operation_id().map(str::to_string).ok_or_else(|| {
                invalid(
                    SD,
                    "CreatePrivateDnsNamespace",
                    "the answer carries no operation ID",
                )
            })?,
            Err(e)
                if has_code(&e, "NamespaceAlreadyExists")
                    || has_code(&e, "ConflictingDomainExists") =>
            {
                let existing = read_by_name(aws, name, Value::from(vpc)).await?.ok_or(e)?;
                let live = live_tags(&existing);
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        SD,
                        "CreatePrivateDnsNamespace",
                        conflict("Cloud Map namespace", name, &live, &req.owner),
                    ));
                }
                tracing::info!(namespace = name, "adopting the namespace an earlier attempt created");
                return Ok(existing);
            }
            Err(e) => return Err(e),
        };
        let id = wait_operation(aws, &operation, OperationTargetType::Namespace, &deadline)
            .await?
            .ok_or_else(|| {
                invalid(
                    SD,
                    "GetOperation",
                    format!("operation {operation} names no namespace"),
                )
            })?;
        until(
            &deadline,
            "ListNamespaces",
            &format!("namespace {id} to be listed"),
            || read(aws, &id, Value::from(vpc)),
        )
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// A private namespace of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "servicediscovery:ListNamespaces";
        let mut findings = Findings::new();
        if let Some(Some(existing)) =
            findings.read(ACTION, read_by_name(aws, name, Value::Null).await)?
        {
            let tags = live_tags(&existing);
            findings.name_in_use(req, ACTION, "Cloud Map namespace", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = parse_id(update_id(req.id.as_deref(), SD, "UpdatePrivateDnsNamespace")?).0;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        if req.changed.iter().any(|c| c == "description") {
            let change = PrivateDnsNamespaceChange::builder()
                .description(opt_str(d, "description").unwrap_or(""))
                .build();
            let out = retry(&deadline, || async {
                aws.servicediscovery
                    .update_private_dns_namespace()
                    .id(id)
                    .updater_request_id(client_token(&req.idempotency_token))
                    .namespace(change.clone())
                    .send()
                    .await
                    .aws(SD, "UpdatePrivateDnsNamespace")
            })
            .await?;
            if let Some(op) = out.operation_id() {
                wait_operation(aws, op, OperationTargetType::Namespace, &deadline).await?;
            }
        }
        if let Some(arn) = opt_str(&prior, "arn") {
            reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        }
        let vpc = echo(Some(d), "vpc", Value::Null);
        read(aws, id, vpc)
            .await?
            .ok_or_else(|| gone(SD, "ListNamespaces", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = parse_id(&req.id).0;
        // A service deleted a moment ago may still be counted.
        let sent = delete_when_free(&deadline, &format!("namespace {id}"), || async {
            aws.servicediscovery
                .delete_namespace()
                .id(id)
                .send()
                .await
                .aws(SD, "DeleteNamespace")
        })
        .await?;
        let Some(out) = sent else {
            return Ok(());
        };
        match out.operation_id() {
            Some(op) => ignore_gone(
                wait_operation(aws, op, OperationTargetType::Namespace, &deadline).await,
            ),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_servicediscovery::types::{DnsProperties, NamespaceProperties};

    #[test]
    fn import_ids_carry_the_vpc() {
        assert_eq!(parse_id("ns-1:vpc-2"), ("ns-1", Some("vpc-2")));
        assert_eq!(parse_id("ns-1"), ("ns-1", None));
        assert_eq!(parse_id("ns-1:"), ("ns-1:", None));
    }

    #[test]
    fn a_listed_namespace_is_in_schema_shape() {
        let ns = NamespaceSummary::builder()
            .id("ns-1")
            .arn("arn:aws:servicediscovery:us-east-1:1:namespace/ns-1")
            .name("internal.example")
            .r#type(NamespaceType::DnsPrivate)
            .properties(
                NamespaceProperties::builder()
                    .dns_properties(DnsProperties::builder().hosted_zone_id("Z1").build())
                    .build(),
            )
            .build();
        let v = namespace_attrs(&ns, &BTreeMap::new(), Value::from("vpc-1"));
        assert_eq!(v.get("hosted_zone"), Some(&Value::from("Z1")));
        assert_eq!(v.get("vpc"), Some(&Value::from("vpc-1")));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
