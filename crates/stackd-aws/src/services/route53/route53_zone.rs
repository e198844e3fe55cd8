//! `aws_route53_zone`: a public or private (`vpc` blocks) hosted zone. Its
//! ID is the zone ID without `/hostedzone/`, as in Terraform (also the
//! import ID).
//!
//! The create sends the create's idempotency token as `CallerReference`, so
//! a create retried after a lost answer finds the zone it made (by name and
//! caller reference) instead of making a second. A refresh reads each known
//! zone with `GetHostedZone` (Route 53 has no batch read of name servers)
//! and the tags of ten zones per `ListTagsForResources` call.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_route53::types::{HostedZoneConfig, Tag, TagResourceType, Vpc, VpcRegion};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::route53_record::{delete_records, list_records};
use super::{bare_zone_id, normal_name, CHANGE, HOSTED_ZONE, ROUTE53};
use crate::args::{blocks, bool_or, hex_digest, list, opt_str, s, sort_blocks};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, found, ignore_gone, invalid, read_each, required, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::reconcile_by;
use crate::wait::{retry, Deadline};

/// `aws_route53_zone`: its schema, its handler, and the IAM grants of every
/// call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_route53_zone",
    schema,
    handler: &Route53Zone,
    grants: &[
        g(
            &[
                "route53:CreateHostedZone",
                "route53:ListHostedZonesByName",
            ],
            ANY,
        ),
        g(
            &[
                "route53:AssociateVPCWithHostedZone",
                "route53:ChangeResourceRecordSets",
                "route53:ChangeTagsForResource",
                "route53:DeleteHostedZone",
                "route53:GetHostedZone",
                "route53:ListResourceRecordSets",
                "route53:ListTagsForResources",
                "route53:UpdateHostedZoneComment",
            ],
            &[HOSTED_ZONE],
        ),
        // Record deletions (force_destroy) are waited for.
        g(&["route53:GetChange"], &[CHANGE]),
        // A private zone's VPCs.
        g(&["ec2:DescribeVpcs"], ANY),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_route53_zone")
        .doc("A Route 53 hosted zone, public or private.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .normalize(|v| match v.as_str() {
                    Some(n) => Value::from(normal_name(n)),
                    None => v.clone(),
                })
                .doc("The domain name."),
        )
        .attr(
            AttrSchema::optional("comment", AttrType::String)
                .default("Managed by Terraform")
                .doc("A comment on the zone."),
        )
        .attr(
            AttrSchema::optional("delegation_set_id", AttrType::String)
                .force_new()
                .doc("A reusable delegation set's ID (public zones)."),
        )
        .attr(
            AttrSchema::optional("force_destroy", AttrType::Bool)
                .default(false)
                .doc("Delete the zone's records (other than SOA and NS) on destroy."),
        )
        .block(
            BlockSchema::new("vpc", Nesting::Set)
                .force_new()
                .attr(AttrSchema::required("vpc_id", AttrType::String))
                .attr(AttrSchema::optional_computed("vpc_region", AttrType::String)),
        )
        .attr(AttrSchema::computed("zone_id", AttrType::String))
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed(
            "name_servers",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::computed("primary_name_server", AttrType::String))
        .taggable()
}

/// What `GetHostedZone` says about a zone.
struct Zone {
    id: String,
    name: String,
    comment: Option<String>,
    name_servers: Vec<String>,
    vpcs: Vec<(String, String)>,
}

async fn get_zone(aws: &Aws, id: &str) -> Result<Option<Zone>, ProviderError> {
    let Some(out) = found(
        aws.route53
            .get_hosted_zone()
            .id(id)
            .send()
            .await
            .aws(ROUTE53, "GetHostedZone"),
    )?
    else {
        return Ok(None);
    };
    let Some(z) = out.hosted_zone() else {
        return Ok(None);
    };
    Ok(Some(Zone {
        id: bare_zone_id(z.id()).to_string(),
        name: normal_name(z.name()),
        comment: z.config().and_then(|c| c.comment()).map(str::to_string),
        name_servers: out
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default(),
        vpcs: out
            .vpcs()
            .iter()
            .filter_map(|v| {
                Some((
                    v.vpc_id()?.to_string(),
                    v.vpc_region().map(|r| r.as_str().to_string()).unwrap_or_default(),
                ))
            })
            .collect(),
    }))
}

/// The tags of `ids` (at most ten zones per call).
async fn tags_of(
    aws: &Aws,
    ids: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ProviderError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(10) {
        let answer = aws
            .route53
            .list_tags_for_resources()
            .resource_type(TagResourceType::Hostedzone)
            .set_resource_ids(Some(chunk.to_vec()))
            .send()
            .await
            .aws(ROUTE53, "ListTagsForResources")?;
        for set in answer.resource_tag_sets() {
            let tags = set
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            if let Some(id) = set.resource_id() {
                out.insert(bare_zone_id(id).to_string(), tags);
            }
        }
    }
    Ok(out)
}

fn zone_attrs(aws: &Aws, z: &Zone, tags: &BTreeMap<String, String>, args: Option<&Value>) -> Value {
    let vpcs: Vec<Value> = z
        .vpcs
        .iter()
        .map(|(id, region)| {
            Value::map([("vpc_id", Value::from(id.as_str())), ("vpc_region", s(Some(region)))])
        })
        .collect();
    let echo = |key: &str, default: Value| {
        args.and_then(|a| a.get(key))
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(default)
    };
    Value::map([
        ("id", Value::from(z.id.as_str())),
        ("zone_id", Value::from(z.id.as_str())),
        ("name", Value::from(z.name.as_str())),
        ("comment", s(z.comment.as_deref())),
        ("delegation_set_id", echo("delegation_set_id", Value::Null)),
        ("force_destroy", echo("force_destroy", Value::Bool(false))),
        ("vpc", Value::List(sort_blocks(vpcs))),
        (
            "arn",
            Value::from(format!("arn:{}:route53:::hostedzone/{}", aws.loc.partition, z.id)),
        ),
        ("name_servers", list(z.name_servers.clone())),
        ("primary_name_server", s(z.name_servers.first().map(String::as_str))),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

async fn read(aws: &Aws, id: &str, args: Option<&Value>) -> Result<Option<Value>, ProviderError> {
    let Some(z) = get_zone(aws, id).await? else {
        return Ok(None);
    };
    let tags = tags_of(aws, std::slice::from_ref(&z.id)).await?.remove(&z.id).unwrap_or_default();
    Ok(Some(zone_attrs(aws, &z, &tags, args)))
}

/// `CallerReference` from the create's idempotency token (at most 128
/// characters).
fn caller_reference(token: &str) -> String {
    if token.len() <= 128 && token.is_ascii() && !token.is_empty() {
        token.to_string()
    } else {
        hex_digest(token)
    }
}

/// The zone a create with this caller reference made, when an earlier
/// attempt's answer was lost.
async fn made_by(aws: &Aws, name: &str, reference: &str) -> Result<Option<String>, ProviderError> {
    let out = aws
        .route53
        .list_hosted_zones_by_name()
        .dns_name(name)
        .send()
        .await
        .aws(ROUTE53, "ListHostedZonesByName")?;
    Ok(out
        .hosted_zones()
        .iter()
        .find(|z| normal_name(z.name()) == normal_name(name) && z.caller_reference() == reference)
        .map(|z| bare_zone_id(z.id()).to_string()))
}

fn sdk_vpc(b: &Value, region: &str) -> Vpc {
    Vpc::builder()
        .set_vpc_id(opt_str(b, "vpc_id").map(str::to_string))
        .vpc_region(VpcRegion::from(opt_str(b, "vpc_region").unwrap_or(region)))
        .build()
}

async fn reconcile_tags(
    aws: &Aws,
    id: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    reconcile_by(
        prior,
        desired,
        deadline,
        |keys| async move {
            aws.route53
                .change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(id)
                .set_remove_tag_keys(Some(keys))
                .send()
                .await
                .aws(ROUTE53, "ChangeTagsForResource")
                .map(|_| ())
        },
        |tags| async move {
            aws.route53
                .change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(id)
                .set_add_tags(Some(
                    tags.into_iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .send()
                .await
                .aws(ROUTE53, "ChangeTagsForResource")
                .map(|_| ())
        },
    )
    .await
}

pub(crate) struct Route53Zone;

#[async_trait]
impl ResourceHandler for Route53Zone {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let zones = read_each(&req.known, |k| async move {
            Ok(get_zone(aws, &k.id).await?.map(|z| (z, &k.attrs)))
        })
        .await?;
        let ids: Vec<String> = zones.iter().map(|(z, _)| z.id.clone()).collect();
        let mut tags = tags_of(aws, &ids).await?;
        Ok(zones
            .into_iter()
            .map(|(z, known)| {
                let tags = tags.remove(&z.id).unwrap_or_default();
                LiveResource {
                    address: address_of(&z.id, &tags, &req.known),
                    attrs: zone_attrs(aws, &z, &tags, Some(known)),
                    id: z.id,
                }
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateHostedZone";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", ROUTE53, OP)?;
        let reference = caller_reference(&req.idempotency_token);
        let vpcs = blocks(d, "vpc");
        let region = aws.loc.region.clone();
        let call = aws
            .route53
            .create_hosted_zone()
            .name(name)
            .caller_reference(&reference)
            .hosted_zone_config(
                HostedZoneConfig::builder()
                    .set_comment(opt_str(d, "comment").map(str::to_string))
                    .private_zone(!vpcs.is_empty())
                    .build(),
            )
            .set_vpc(vpcs.first().map(|b| sdk_vpc(b, &region)))
            .set_delegation_set_id(opt_str(d, "delegation_set_id").map(str::to_string));
        let id = match call.send().await.aws(ROUTE53, OP) {
            Ok(out) => out
                .hosted_zone()
                .map(|z| bare_zone_id(z.id()).to_string())
                .ok_or_else(|| invalid(ROUTE53, OP, "the answer carries no zone"))?,
            // The same caller reference: an earlier attempt made it.
            Err(e) if has_code(&e, "HostedZoneAlreadyExists") => made_by(aws, name, &reference)
                .await?
                .ok_or(e)?,
            Err(e) => return Err(e),
        };
        async {
            for b in vpcs.iter().skip(1) {
                let answer = aws
                    .route53
                    .associate_vpc_with_hosted_zone()
                    .hosted_zone_id(&id)
                    .vpc(sdk_vpc(b, &region))
                    .send()
                    .await
                    .aws(ROUTE53, "AssociateVPCWithHostedZone");
                match answer {
                    Err(e) if has_code(&e, "ConflictingDomainExists") => {}
                    other => {
                        other?;
                    }
                }
            }
            reconcile_tags(aws, &id, &Value::Null, d, &deadline).await?;
            read(aws, &id, Some(d))
                .await?
                .ok_or_else(|| crate::iam_util::gone(ROUTE53, "GetHostedZone", &id))
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = update_id(req.id.as_deref(), ROUTE53, "UpdateHostedZoneComment")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        if req.changed.iter().any(|c| c == "comment") {
            retry(&deadline, || async {
                aws.route53
                    .update_hosted_zone_comment()
                    .id(id)
                    .set_comment(opt_str(d, "comment").map(str::to_string))
                    .send()
                    .await
                    .aws(ROUTE53, "UpdateHostedZoneComment")
            })
            .await?;
        }
        reconcile_tags(aws, id, &prior, d, &deadline).await?;
        read(aws, id, Some(d))
            .await?
            .ok_or_else(|| crate::iam_util::gone(ROUTE53, "GetHostedZone", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        if bool_or(&req.prior, "force_destroy", false) {
            let records = found(list_records(aws, &req.id).await)?.unwrap_or_default();
            let apex = opt_str(&req.prior, "name").map(normal_name).unwrap_or_default();
            let extra: Vec<_> = records
                .into_iter()
                .filter(|r| {
                    let kind = r.r#type().as_str();
                    !(normal_name(r.name()) == apex && (kind == "SOA" || kind == "NS"))
                })
                .collect();
            delete_records(aws, &req.id, extra, &deadline).await?;
        }
        ignore_gone(
            retry(&deadline, || async {
                aws.route53
                    .delete_hosted_zone()
                    .id(&req.id)
                    .send()
                    .await
                    .aws(ROUTE53, "DeleteHostedZone")
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_references_fit_route53s_limit() {
        assert_eq!(caller_reference("abc"), "abc");
        assert_eq!(caller_reference(&"x".repeat(200)).len(), 64);
    }
}
