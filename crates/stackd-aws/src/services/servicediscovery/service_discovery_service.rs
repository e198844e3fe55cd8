//! `aws_service_discovery_service`: a Cloud Map service, the name ECS
//! registers a service's tasks under (`service_registries` of
//! `aws_ecs_service`). Its ID is the service ID, as in Terraform (also the
//! import ID).
//!
//! A refresh is one `ListServices` chain for every known service (its
//! summaries carry the DNS and health check settings), then
//! `ListTagsForResource` per service found (no batch form). The summaries
//! do not name the namespace: it is the one of `dns_config`, else the
//! recorded one. The create carries a `CreatorRequestId` from the create's
//! token. `UpdateService` is asynchronous and waited for; it replaces the
//! DNS records and the health check, so both are always sent. With
//! `force_destroy`, registered instances are deregistered before the
//! delete; without it, a delete waits while instances (ECS tasks being
//! stopped) are still registered.

// `DnsConfig.NamespaceId` and `HealthCheckCustomConfig.FailureThreshold`
// are deprecated in the API but are what Terraform's arguments are: sent
// and read as the provider does (`ListServices` names the namespace only
// there).
#![allow(deprecated)]

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_servicediscovery::types::{
    DnsConfig, DnsConfigChange, DnsRecord, HealthCheckConfig, HealthCheckCustomConfig,
    HealthCheckType, OperationTargetType, RecordType, RoutingPolicy, ServiceChange,
    ServiceSummary, ServiceTypeOption,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{
    delete_when_free, reconcile_tags, sdk_tags, tags_of, wait_operation, DISCOVERY_SERVICE,
    NAMESPACE, SD,
};
use crate::args::{blocks, bool_or, client_token, num, opt_int, opt_str, s};
use crate::context::Aws;
use crate::elbv2_ecs_util::at_most_one;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, bounded_all, conflict, echo, found, gone, invalid, live_tags, ours, required,
    tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::desired_tags;
use crate::wait::{retry, until, Deadline};

/// `aws_service_discovery_service`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_service_discovery_service",
    schema,
    handler: &DiscoveryService,
    grants: &[
        g(
            &[
                "servicediscovery:GetOperation",
                "servicediscovery:ListServices",
            ],
            ANY,
        ),
        g(
            &[
                "servicediscovery:CreateService",
                "servicediscovery:DeleteService",
                "servicediscovery:DeregisterInstance",
                "servicediscovery:ListInstances",
                "servicediscovery:ListTagsForResource",
                "servicediscovery:TagResource",
                "servicediscovery:UntagResource",
                "servicediscovery:UpdateService",
            ],
            &[NAMESPACE, DISCOVERY_SERVICE],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_service_discovery_service")
        .doc("A Cloud Map service: the DNS name ECS registers a service's tasks under.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The service name (the first label of its DNS name)."),
        )
        .attr(
            AttrSchema::optional_computed("namespace_id", AttrType::String)
                .force_new()
                .doc("The namespace; the one of `dns_config` when unset."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("A description."))
        .attr(
            AttrSchema::optional_computed("type", AttrType::String)
                .force_new()
                .check(Check::OneOf(vec!["HTTP"]))
                .doc("`HTTP` for a service discoverable by API calls only."),
        )
        .attr(
            AttrSchema::optional("force_destroy", AttrType::Bool)
                .default(false)
                .doc("Deregister every instance before deleting the service."),
        )
        .block(
            at_most_one(BlockSchema::new("dns_config", Nesting::List))
                .attr(AttrSchema::required("namespace_id", AttrType::String).force_new())
                .attr(
                    AttrSchema::optional("routing_policy", AttrType::String)
                        .default("MULTIVALUE")
                        .force_new()
                        .check(Check::OneOf(vec!["MULTIVALUE", "WEIGHTED"])),
                )
                .block(
                    BlockSchema::new("dns_records", Nesting::List)
                        .required()
                        .attr(AttrSchema::required("ttl", AttrType::Number))
                        .attr(
                            AttrSchema::required("type", AttrType::String)
                                .force_new()
                                .check(Check::OneOf(vec!["SRV", "A", "AAAA", "CNAME"])),
                        ),
                ),
        )
        .block(
            at_most_one(BlockSchema::new("health_check_config", Nesting::List))
                .attr(AttrSchema::optional("failure_threshold", AttrType::Number))
                .attr(AttrSchema::optional("resource_path", AttrType::String))
                .attr(
                    AttrSchema::optional("type", AttrType::String)
                        .force_new()
                        .check(Check::OneOf(vec!["HTTP", "HTTPS", "TCP"])),
                ),
        )
        .block(
            at_most_one(BlockSchema::new("health_check_custom_config", Nesting::List))
                .force_new()
                .attr(
                    // AWS always answers 1 now (the provider deprecates the
                    // argument): computed, so an unset one matches.
                    AttrSchema::optional_computed("failure_threshold", AttrType::Number)
                        .force_new(),
                ),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The service's ARN."))
        .taggable()
}

fn dns_config_value(c: Option<&DnsConfig>, namespace_id: &Value) -> Value {
    let Some(c) = c else {
        return Value::List(Vec::new());
    };
    let records = c
        .dns_records()
        .iter()
        .map(|r| {
            Value::map([
                ("ttl", num(r.ttl())),
                ("type", Value::from(r.r#type().as_str())),
            ])
        })
        .collect();
    Value::List(vec![Value::map([
        (
            "namespace_id",
            c.namespace_id()
                .map(Value::from)
                .unwrap_or_else(|| namespace_id.clone()),
        ),
        (
            "routing_policy",
            Value::from(
                c.routing_policy()
                    .map(RoutingPolicy::as_str)
                    .unwrap_or("MULTIVALUE"),
            ),
        ),
        ("dns_records", Value::List(records)),
    ])])
}

fn health_check_value(c: Option<&HealthCheckConfig>) -> Value {
    let Some(c) = c else {
        return Value::List(Vec::new());
    };
    Value::List(vec![Value::map([
        (
            "failure_threshold",
            c.failure_threshold().map(num).unwrap_or(Value::Null),
        ),
        ("resource_path", s(c.resource_path())),
        ("type", s(Some(c.r#type().as_str()))),
    ])])
}

fn custom_health_check_value(c: Option<&HealthCheckCustomConfig>) -> Value {
    let Some(c) = c else {
        return Value::List(Vec::new());
    };
    Value::List(vec![Value::map([(
        "failure_threshold",
        c.failure_threshold().map(num).unwrap_or(Value::Null),
    )])])
}

/// The live service in schema shape. `recorded` supplies what the summary
/// does not carry: the namespace (when `dns_config` does not name it) and
/// `force_destroy`.
fn service_attrs(
    svc: &ServiceSummary,
    tags: &BTreeMap<String, String>,
    recorded: Option<&Value>,
) -> Value {
    let namespace = svc
        .dns_config()
        .and_then(DnsConfig::namespace_id)
        .map(Value::from)
        .unwrap_or_else(|| echo(recorded, "namespace_id", Value::Null));
    Value::map([
        ("id", s(svc.id())),
        ("arn", s(svc.arn())),
        ("name", s(svc.name())),
        ("namespace_id", namespace.clone()),
        ("description", s(svc.description())),
        ("type", s(svc.r#type().map(|t| t.as_str()))),
        (
            "force_destroy",
            echo(recorded, "force_destroy", Value::Bool(false)),
        ),
        ("dns_config", dns_config_value(svc.dns_config(), &namespace)),
        (
            "health_check_config",
            health_check_value(svc.health_check_config()),
        ),
        (
            "health_check_custom_config",
            custom_health_check_value(svc.health_check_custom_config()),
        ),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

fn dns_records(b: &Value) -> Result<Vec<DnsRecord>, ProviderError> {
    blocks(b, "dns_records")
        .iter()
        .map(|r| {
            DnsRecord::builder()
                .r#type(RecordType::from(opt_str(r, "type").unwrap_or("A")))
                .ttl(opt_int(r, "ttl").unwrap_or(60))
                .build()
                .map_err(|e| invalid(SD, "CreateService", e.to_string()))
        })
        .collect()
}

fn dns_config(d: &Value) -> Result<Option<DnsConfig>, ProviderError> {
    let Some(b) = blocks(d, "dns_config").first() else {
        return Ok(None);
    };
    DnsConfig::builder()
        .set_namespace_id(opt_str(b, "namespace_id").map(str::to_string))
        .routing_policy(RoutingPolicy::from(
            opt_str(b, "routing_policy").unwrap_or("MULTIVALUE"),
        ))
        .set_dns_records(Some(dns_records(b)?))
        .build()
        .map(Some)
        .map_err(|e| invalid(SD, "CreateService", e.to_string()))
}

fn dns_config_change(d: &Value) -> Result<Option<DnsConfigChange>, ProviderError> {
    let Some(b) = blocks(d, "dns_config").first() else {
        return Ok(None);
    };
    DnsConfigChange::builder()
        .set_dns_records(Some(dns_records(b)?))
        .build()
        .map(Some)
        .map_err(|e| invalid(SD, "UpdateService", e.to_string()))
}

fn health_check_config(d: &Value) -> Option<HealthCheckConfig> {
    let b = blocks(d, "health_check_config").first()?;
    HealthCheckConfig::builder()
        .r#type(HealthCheckType::from(opt_str(b, "type").unwrap_or("HTTP")))
        .set_resource_path(opt_str(b, "resource_path").map(str::to_string))
        .set_failure_threshold(opt_int(b, "failure_threshold").map(|n| n as i32))
        .build()
        .ok()
}

fn custom_health_check_config(d: &Value) -> Option<HealthCheckCustomConfig> {
    let b = blocks(d, "health_check_custom_config").first()?;
    Some(
        HealthCheckCustomConfig::builder()
            .set_failure_threshold(opt_int(b, "failure_threshold").map(|n| n as i32))
            .build(),
    )
}

/// The namespace a spec names: `namespace_id`, else `dns_config`'s.
fn namespace_of(d: &Value) -> Option<&str> {
    opt_str(d, "namespace_id").or_else(|| {
        blocks(d, "dns_config")
            .first()
            .and_then(|b| opt_str(b, "namespace_id"))
    })
}

/// Every service of the account and region, by ID (one `ListServices`
/// chain).
async fn list_services(aws: &Aws) -> Result<BTreeMap<String, ServiceSummary>, ProviderError> {
    let pages = aws
        .servicediscovery
        .list_services()
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(SD, "ListServices")?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.services.unwrap_or_default())
        .filter_map(|s| Some((s.id()?.to_string(), s)))
        .collect())
}

async fn with_tags(
    aws: &Aws,
    svc: &ServiceSummary,
    recorded: Option<&Value>,
) -> Result<Value, ProviderError> {
    let tags = match svc.arn() {
        Some(arn) => tags_of(aws, arn).await?,
        None => BTreeMap::new(),
    };
    Ok(service_attrs(svc, &tags, recorded))
}

/// The service with this ID; `None` when it is gone.
async fn read(aws: &Aws, id: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    match list_services(aws).await?.get(id) {
        Some(svc) => with_tags(aws, svc, Some(recorded)).await.map(Some),
        None => Ok(None),
    }
}

/// Deregisters every instance of the service (`force_destroy`).
async fn deregister_all(aws: &Aws, id: &str, deadline: &Deadline) -> Result<(), ProviderError> {
    let instances: Vec<_> = aws
        .servicediscovery
        .list_instances()
        .service_id(id)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(SD, "ListInstances")?
        .into_iter()
        .flat_map(|p| p.instances.unwrap_or_default())
        .collect();
    for instance in instances {
        let Some(instance_id) = instance.id() else {
            continue;
        };
        let out = found(
            aws.servicediscovery
                .deregister_instance()
                .service_id(id)
                .instance_id(instance_id)
                .send()
                .await
                .aws(SD, "DeregisterInstance"),
        )?;
        if let Some(op) = out.as_ref().and_then(|o| o.operation_id()) {
            wait_operation(aws, op, OperationTargetType::Instance, deadline).await?;
        }
    }
    Ok(())
}

pub(crate) struct DiscoveryService;

#[async_trait]
impl ResourceHandler for DiscoveryService {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.iter().all(|k| k.id.is_empty()) {
            return Ok(Vec::new());
        }
        let all = list_services(aws).await?;
        let wanted: Vec<(&KnownResource, &ServiceSummary)> = req
            .known
            .iter()
            .filter_map(|k| Some((k, all.get(&k.id)?)))
            .collect();
        // No batch form of ListTagsForResource.
        let reads = bounded_all(
            wanted
                .iter()
                .map(|(k, svc)| async move { found(with_tags(aws, svc, Some(&k.attrs)).await) }),
        )
        .await;
        let mut out = Vec::new();
        for ((k, _), attrs) in wanted.into_iter().zip(reads) {
            if let Some(attrs) = attrs? {
                out.push(LiveResource {
                    id: k.id.clone(),
                    address: address_of(&k.id, &live_tags(&attrs), &req.known),
                    attrs,
                });
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", SD, "CreateService")?;
        let namespace = namespace_of(d);
        let call = aws
            .servicediscovery
            .create_service()
            .name(name)
            .set_namespace_id(namespace.map(str::to_string))
            .creator_request_id(client_token(&req.idempotency_token))
            .set_description(opt_str(d, "description").map(str::to_string))
            .set_dns_config(dns_config(d)?)
            .set_health_check_config(health_check_config(d))
            .set_health_check_custom_config(custom_health_check_config(d))
            .set_type(opt_str(d, "type").map(ServiceTypeOption::from))
            .set_tags(Some(sdk_tags(&desired_tags(d), "CreateService")?));
        let id = match retry(&deadline, || async {
            call.clone().send().await.aws(SD, "CreateService")
        })
        .await
        {
            Ok(out) => out
                .service()
                .and_then(|s| s.id())
                .map(str::to_string)
                .ok_or_else(|| invalid(SD, "CreateService", "the answer carries no service ID"))?,
            Err(e) if has_code(&e, "ServiceAlreadyExists") => {
                let all = list_services(aws).await?;
                let Some(existing) = all.values().find(|s| {
                    s.name() == Some(name)
                        && (namespace.is_none()
                            || s.dns_config().and_then(DnsConfig::namespace_id).is_none()
                            || s.dns_config().and_then(DnsConfig::namespace_id) == namespace)
                }) else {
                    return Err(e);
                };
                let existing = with_tags(aws, existing, Some(d)).await?;
                let live = live_tags(&existing);
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        SD,
                        "CreateService",
                        conflict("Cloud Map service", name, &live, &req.owner),
                    ));
                }
                tracing::info!(service = name, "adopting the service an earlier attempt created");
                return Ok(existing);
            }
            Err(e) => return Err(e),
        };
        until(
            &deadline,
            "ListServices",
            &format!("service {id} to be listed"),
            || read(aws, &id, d),
        )
        .await
        .map_err(|e| after_create(&id, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = update_id(req.id.as_deref(), SD, "UpdateService")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("description") || changed("dns_config") || changed("health_check_config") {
            // UpdateService replaces what it is sent and deletes the DNS
            // records and health check it is not: send them all.
            let change = ServiceChange::builder()
                .description(opt_str(d, "description").unwrap_or(""))
                .set_dns_config(dns_config_change(d)?)
                .set_health_check_config(health_check_config(d))
                .build();
            let out = retry(&deadline, || async {
                aws.servicediscovery
                    .update_service()
                    .id(id)
                    .service(change.clone())
                    .send()
                    .await
                    .aws(SD, "UpdateService")
            })
            .await?;
            if let Some(op) = out.operation_id() {
                wait_operation(aws, op, OperationTargetType::Service, &deadline).await?;
            }
        }
        if let Some(arn) = opt_str(&prior, "arn") {
            reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        }
        read(aws, id, d)
            .await?
            .ok_or_else(|| gone(SD, "ListServices", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = req.id.as_str();
        if bool_or(&req.prior, "force_destroy", false) {
            match deregister_all(aws, id, &deadline).await {
                Err(e) if e.kind == stackd_engine::provider::ErrorKind::NotFound => return Ok(()),
                other => other?,
            }
        }
        // Instances of ECS tasks stopped a moment ago may still be
        // registered: ECS deregisters them as the tasks stop.
        delete_when_free(&deadline, &format!("service {id}"), || async {
            aws.servicediscovery
                .delete_service()
                .id(id)
                .send()
                .await
                .aws(SD, "DeleteService")
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Value {
        Value::map([
            ("name", Value::from("api")),
            (
                "dns_config",
                Value::List(vec![Value::map([
                    ("namespace_id", Value::from("ns-1")),
                    ("routing_policy", Value::from("MULTIVALUE")),
                    (
                        "dns_records",
                        Value::List(vec![Value::map([
                            ("ttl", Value::from(10)),
                            ("type", Value::from("A")),
                        ])]),
                    ),
                ])]),
            ),
            (
                "health_check_custom_config",
                Value::List(vec![Value::map([("failure_threshold", Value::from(1))])]),
            ),
        ])
    }

    #[test]
    fn the_namespace_comes_from_dns_config_when_unset() {
        assert_eq!(namespace_of(&spec()), Some("ns-1"));
        assert_eq!(namespace_of(&Value::map([("name", Value::from("x"))])), None);
    }

    #[test]
    fn blocks_map_to_the_sdk_and_back() {
        let d = spec();
        let config = dns_config(&d).unwrap().unwrap();
        assert_eq!(config.namespace_id(), Some("ns-1"));
        assert_eq!(config.dns_records()[0].ttl(), 10);
        assert_eq!(config.dns_records()[0].r#type(), &RecordType::A);
        let svc = ServiceSummary::builder()
            .id("srv-1")
            .arn("arn:aws:servicediscovery:us-east-1:1:service/srv-1")
            .name("api")
            .dns_config(config)
            .health_check_custom_config(custom_health_check_config(&d).unwrap())
            .build();
        let v = service_attrs(&svc, &BTreeMap::new(), None);
        assert_eq!(v.get("namespace_id"), Some(&Value::from("ns-1")));
        assert_eq!(v.get("dns_config"), d.get("dns_config"));
        assert_eq!(
            v.get("health_check_custom_config"),
            d.get("health_check_custom_config")
        );
        assert_eq!(v.get("force_destroy"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn an_update_sends_the_records() {
        let change = dns_config_change(&spec()).unwrap().unwrap();
        assert_eq!(change.dns_records().len(), 1);
        assert!(dns_config_change(&Value::Null).unwrap().is_none());
    }
}
