//! `data.aws_route53_zone`: a hosted zone by ID, or by name (and
//! `private_zone`, `vpc_id`), as teams find the zone another stack owns.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{bare_zone_id, normal_name, HOSTED_ZONE, ROUTE53};
use crate::args::{bool_or, list, opt_str, s};
use crate::context::Aws;
use crate::iam_util::{invalid, AwsResult};
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};

/// `data.aws_route53_zone`: its schema, its handler and the IAM grants of
/// its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_route53_zone",
    schema,
    handler: &Route53ZoneData,
    grants: &[
        g(&["route53:ListHostedZonesByName"], ANY),
        g(&["route53:GetHostedZone"], &[HOSTED_ZONE]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_route53_zone")
        .doc("A Route 53 hosted zone, by ID or name.")
        .attr(AttrSchema::optional_computed("zone_id", AttrType::String))
        .attr(AttrSchema::optional_computed("name", AttrType::String))
        .attr(AttrSchema::optional("private_zone", AttrType::Bool).default(false))
        .attr(AttrSchema::optional_computed("vpc_id", AttrType::String))
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("comment", AttrType::String))
        .attr(AttrSchema::computed("caller_reference", AttrType::String))
        .attr(AttrSchema::computed(
            "name_servers",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::computed("primary_name_server", AttrType::String))
        .attr(AttrSchema::computed(
            "resource_record_set_count",
            AttrType::Number,
        ))
}

/// The zone ID the arguments select: `zone_id`, or the one zone of that
/// name and visibility.
async fn select(aws: &Aws, args: &Value) -> Result<String, ProviderError> {
    const OP: &str = "ListHostedZonesByName";
    if let Some(id) = opt_str(args, "zone_id") {
        return Ok(bare_zone_id(id).to_string());
    }
    let name = opt_str(args, "name")
        .map(normal_name)
        .ok_or_else(|| invalid(ROUTE53, OP, "set zone_id or name"))?;
    let private = bool_or(args, "private_zone", false);
    let mut found = Vec::new();
    let mut next: Option<(String, String)> = None;
    loop {
        let mut call = aws.route53.list_hosted_zones_by_name().dns_name(&name);
        if let Some((dns, id)) = next.take() {
            call = call.dns_name(dns).hosted_zone_id(id);
        }
        let page = call.send().await.aws(ROUTE53, OP)?;
        let mut past = false;
        for z in page.hosted_zones() {
            if normal_name(z.name()) != name {
                past = true;
                continue;
            }
            if z.config().is_some_and(|c| c.private_zone()) == private {
                found.push(bare_zone_id(z.id()).to_string());
            }
        }
        match (page.is_truncated() && !past, page.next_dns_name(), page.next_hosted_zone_id()) {
            (true, Some(dns), Some(id)) => next = Some((dns.to_string(), id.to_string())),
            _ => break,
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(invalid(ROUTE53, OP, format!("no matching Route 53 hosted zone named {name:?}"))),
        n => Err(invalid(
            ROUTE53,
            OP,
            format!("{n} hosted zones are named {name:?}; select one with zone_id"),
        )),
    }
}

pub(crate) struct Route53ZoneData;

#[async_trait]
impl DataHandler for Route53ZoneData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let id = select(aws, &req.args).await?;
        let out = aws
            .route53
            .get_hosted_zone()
            .id(&id)
            .send()
            .await
            .aws(ROUTE53, "GetHostedZone")?;
        let zone = out
            .hosted_zone()
            .ok_or_else(|| invalid(ROUTE53, "GetHostedZone", "the answer carries no zone"))?;
        let servers: Vec<String> = out
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default();
        let mut attrs = req.args.as_map().cloned().unwrap_or_default();
        for (k, v) in [
            ("id", Value::from(id.as_str())),
            ("zone_id", Value::from(id.as_str())),
            ("name", Value::from(normal_name(zone.name()))),
            (
                "private_zone",
                Value::Bool(zone.config().is_some_and(|c| c.private_zone())),
            ),
            ("comment", s(zone.config().and_then(|c| c.comment()))),
            ("caller_reference", Value::from(zone.caller_reference())),
            (
                "arn",
                Value::from(format!("arn:{}:route53:::hostedzone/{id}", aws.loc.partition)),
            ),
            ("primary_name_server", s(servers.first().map(String::as_str))),
            ("name_servers", list(servers)),
            (
                "resource_record_set_count",
                zone.resource_record_set_count()
                    .map_or(Value::Null, |n| Value::Number(n as f64)),
            ),
        ] {
            attrs.insert(k.to_string(), v);
        }
        Ok(Value::Map(attrs))
    }
}
