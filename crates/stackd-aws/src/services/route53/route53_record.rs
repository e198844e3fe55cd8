//! `aws_route53_record`: a record set of a hosted zone: plain records
//! (`ttl` and `records`) or an alias to an AWS endpoint (`alias`, e.g. a
//! load balancer). Its ID is `ZONE_NAME_TYPE[_SET]`, as in Terraform (also
//! the import ID).
//!
//! Records carry no tags. A create sends `CREATE`, which Route 53 refuses
//! for a record that exists, unless `allow_overwrite` asks for `UPSERT`; a
//! create retried after a lost answer finds a record with exactly the
//! desired content and takes it as its own. A refresh is one
//! `ListResourceRecordSets` chain per zone.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord,
    ResourceRecordSet, ResourceRecordSetFailover, RrType,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{bare_zone_id, expand_name, normal_name, CHANGE, HOSTED_ZONE, ROUTE53};
use crate::args::{blocks, bool_or, num, opt_int, opt_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{invalid, required, AwsResult};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_route53_record`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_route53_record",
    schema,
    handler: &Route53Record,
    grants: &[
        g(
            &[
                "route53:ChangeResourceRecordSets",
                "route53:GetHostedZone",
                "route53:ListResourceRecordSets",
            ],
            &[HOSTED_ZONE],
        ),
        g(&["route53:GetChange"], &[CHANGE]),
    ],
    source: file!(),
};

fn lower_name(v: &Value) -> Value {
    match v.as_str() {
        Some(n) => Value::from(normal_name(n)),
        None => v.clone(),
    }
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_route53_record")
        .doc("A record set of a Route 53 hosted zone.")
        .attr(AttrSchema::required("zone_id", AttrType::String).force_new())
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .normalize(lower_name)
                .doc("The record name, absolute or relative to the zone."),
        )
        .attr(AttrSchema::required("type", AttrType::String).force_new())
        .attr(AttrSchema::optional("ttl", AttrType::Number))
        .attr(AttrSchema::optional(
            "records",
            AttrType::set_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("set_identifier", AttrType::String).force_new())
        .attr(AttrSchema::optional("health_check_id", AttrType::String))
        .attr(AttrSchema::optional("multivalue_answer_routing_policy", AttrType::Bool))
        .attr(
            AttrSchema::optional("allow_overwrite", AttrType::Bool)
                .default(false)
                .doc("Replace a record that already exists (UPSERT) instead of failing."),
        )
        .block(
            BlockSchema::new("alias", Nesting::Set)
                .attr(AttrSchema::required("name", AttrType::String).normalize(lower_name))
                .attr(AttrSchema::required("zone_id", AttrType::String))
                .attr(AttrSchema::required("evaluate_target_health", AttrType::Bool)),
        )
        .block(
            BlockSchema::new("weighted_routing_policy", Nesting::Single)
                .attr(AttrSchema::required("weight", AttrType::Number)),
        )
        .block(
            BlockSchema::new("failover_routing_policy", Nesting::Single)
                .attr(AttrSchema::required("type", AttrType::String)),
        )
        .attr(AttrSchema::computed("fqdn", AttrType::String))
}

/// Terraform's ID: `ZONE_NAME_TYPE`, with `_SET` for a set identifier.
fn record_id(zone: &str, name: &str, kind: &str, set: Option<&str>) -> String {
    match set {
        Some(set) if !set.is_empty() => format!("{zone}_{name}_{kind}_{set}"),
        _ => format!("{zone}_{name}_{kind}"),
    }
}

/// Zone, absolute name, type and set identifier of a known record: its
/// recorded arguments, or Terraform's ID.
type Key = (String, String, String, Option<String>);

fn key_of(k: &KnownResource, zone_name: &str) -> Option<Key> {
    let a = &k.attrs;
    if let (Some(zone), Some(name), Some(kind)) =
        (opt_str(a, "zone_id"), opt_str(a, "name"), opt_str(a, "type"))
    {
        return Some((
            zone.to_string(),
            expand_name(name, zone_name),
            kind.to_string(),
            opt_str(a, "set_identifier").map(str::to_string),
        ));
    }
    let mut parts = k.id.splitn(4, '_');
    let (zone, name, kind) = (parts.next()?, parts.next()?, parts.next()?);
    Some((
        zone.to_string(),
        expand_name(name, zone_name),
        kind.to_string(),
        parts.next().map(str::to_string),
    ))
}

fn zone_of(k: &KnownResource) -> Option<String> {
    opt_str(&k.attrs, "zone_id")
        .map(str::to_string)
        .or_else(|| k.id.split('_').next().map(str::to_string))
}

/// Every record set of a zone (one paginated chain).
pub(crate) async fn list_records(
    aws: &Aws,
    zone: &str,
) -> Result<Vec<ResourceRecordSet>, ProviderError> {
    let mut out = Vec::new();
    let mut next: Option<(String, RrType, Option<String>)> = None;
    loop {
        let mut call = aws.route53.list_resource_record_sets().hosted_zone_id(zone);
        if let Some((name, kind, id)) = next.take() {
            call = call
                .start_record_name(name)
                .start_record_type(kind)
                .set_start_record_identifier(id);
        }
        let page = call.send().await.aws(ROUTE53, "ListResourceRecordSets")?;
        out.extend(page.resource_record_sets().iter().cloned());
        match (page.is_truncated(), page.next_record_name(), page.next_record_type()) {
            (true, Some(name), Some(kind)) => {
                next = Some((
                    name.to_string(),
                    kind.clone(),
                    page.next_record_identifier().map(str::to_string),
                ))
            }
            _ => return Ok(out),
        }
    }
}

/// The zone's apex name (the name of its SOA record).
fn apex(records: &[ResourceRecordSet]) -> String {
    records
        .iter()
        .find(|r| r.r#type() == &RrType::Soa)
        .map(|r| normal_name(r.name()))
        .unwrap_or_default()
}

fn matches(r: &ResourceRecordSet, key: &Key) -> bool {
    normal_name(r.name()) == key.1
        && r.r#type().as_str() == key.2
        && r.set_identifier().filter(|s| !s.is_empty()) == key.3.as_deref().filter(|s| !s.is_empty())
}

/// The record's attributes; `name` as the arguments wrote it (relative or
/// absolute) when that is the same name.
fn record_attrs(zone: &str, zone_name: &str, r: &ResourceRecordSet, args: Option<&Value>) -> Value {
    let fqdn = normal_name(r.name());
    let name = args
        .and_then(|a| opt_str(a, "name"))
        .filter(|n| expand_name(n, zone_name) == fqdn)
        .map(normal_name)
        .unwrap_or_else(|| fqdn.clone());
    let kind = r.r#type().as_str();
    let alias = r.alias_target().map(|a| {
        Value::List(vec![Value::map([
            ("name", Value::from(normal_name(a.dns_name()))),
            ("zone_id", Value::from(a.hosted_zone_id())),
            ("evaluate_target_health", Value::Bool(a.evaluate_target_health())),
        ])])
    });
    let weighted = r.weight().map(|w| Value::List(vec![Value::map([("weight", num(w))])]));
    let failover = r.failover().map(|f| {
        Value::List(vec![Value::map([("type", Value::from(f.as_str()))])])
    });
    let records: Vec<String> = r
        .resource_records()
        .iter()
        .map(|v| v.value().to_string())
        .collect();
    Value::map([
        (
            "id",
            Value::from(record_id(zone, &name, kind, r.set_identifier())),
        ),
        ("zone_id", Value::from(zone)),
        ("name", Value::from(name)),
        ("type", Value::from(kind)),
        ("ttl", r.ttl().map_or(Value::Null, num)),
        ("records", set_or_null(records)),
        ("set_identifier", s(r.set_identifier())),
        ("health_check_id", s(r.health_check_id())),
        (
            "multivalue_answer_routing_policy",
            r.multi_value_answer().map_or(Value::Null, Value::Bool),
        ),
        (
            "allow_overwrite",
            args.and_then(|a| a.get("allow_overwrite"))
                .cloned()
                .unwrap_or(Value::Bool(false)),
        ),
        ("alias", alias.unwrap_or(Value::Null)),
        ("weighted_routing_policy", weighted.unwrap_or(Value::Null)),
        ("failover_routing_policy", failover.unwrap_or(Value::Null)),
        ("fqdn", Value::from(fqdn)),
    ])
}

fn built<T>(r: Result<T, aws_smithy_types::error::operation::BuildError>) -> Result<T, ProviderError> {
    r.map_err(|e| invalid(ROUTE53, "ChangeResourceRecordSets", e.to_string()))
}

/// The record set the arguments describe, its name made absolute.
fn desired_set(d: &Value, zone_name: &str) -> Result<ResourceRecordSet, ProviderError> {
    const OP: &str = "ChangeResourceRecordSets";
    let name = expand_name(required(d, "name", ROUTE53, OP)?, zone_name);
    let kind = RrType::from(required(d, "type", ROUTE53, OP)?);
    let alias = match blocks(d, "alias").first() {
        Some(a) => Some(built(
            AliasTarget::builder()
                .dns_name(required(a, "name", ROUTE53, OP)?)
                .hosted_zone_id(required(a, "zone_id", ROUTE53, OP)?)
                .evaluate_target_health(bool_or(a, "evaluate_target_health", false))
                .build(),
        )?),
        None => None,
    };
    let mut records = Vec::new();
    for value in str_list(d, "records") {
        records.push(built(ResourceRecord::builder().value(value).build())?);
    }
    if alias.is_some() && !records.is_empty() {
        return Err(invalid(ROUTE53, OP, "a record has either alias or records, not both"));
    }
    built(
        ResourceRecordSet::builder()
            .name(name)
            .r#type(kind)
            .set_ttl(opt_int(d, "ttl"))
            .set_resource_records((!records.is_empty()).then_some(records))
            .set_alias_target(alias)
            .set_set_identifier(opt_str(d, "set_identifier").map(str::to_string))
            .set_health_check_id(opt_str(d, "health_check_id").map(str::to_string))
            .set_multi_value_answer(d.get("multivalue_answer_routing_policy").and_then(Value::as_bool))
            .set_weight(blocks(d, "weighted_routing_policy").first().and_then(|w| opt_int(w, "weight")))
            .set_failover(
                blocks(d, "failover_routing_policy")
                    .first()
                    .and_then(|f| opt_str(f, "type"))
                    .map(ResourceRecordSetFailover::from),
            )
            .build(),
    )
}

/// Sends changes to a zone and waits until Route 53 reports them in sync.
async fn change(
    aws: &Aws,
    zone: &str,
    changes: Vec<Change>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if changes.is_empty() {
        return Ok(());
    }
    let batch = built(ChangeBatch::builder().set_changes(Some(changes)).build())?;
    let out = retry(deadline, || async {
        aws.route53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch.clone())
            .send()
            .await
            .aws(ROUTE53, "ChangeResourceRecordSets")
    })
    .await?;
    let Some(info) = out.change_info() else {
        return Ok(());
    };
    let id = info.id().to_string();
    until(deadline, "GetChange", &format!("change {id} to be in sync"), || async {
        let out = aws
            .route53
            .get_change()
            .id(&id)
            .send()
            .await
            .aws(ROUTE53, "GetChange")?;
        Ok(out
            .change_info()
            .filter(|c| c.status() == &ChangeStatus::Insync)
            .map(|_| ()))
    })
    .await
}

/// Deletes record sets (exactly as listed), a batch per zone change.
pub(crate) async fn delete_records(
    aws: &Aws,
    zone: &str,
    records: Vec<ResourceRecordSet>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let mut changes = Vec::new();
    for r in records {
        changes.push(built(
            Change::builder()
                .action(ChangeAction::Delete)
                .resource_record_set(r)
                .build(),
        )?);
    }
    change(aws, zone, changes, deadline).await
}

/// The zone's records and apex name.
async fn zone_records(aws: &Aws, zone: &str) -> Result<(Vec<ResourceRecordSet>, String), ProviderError> {
    let records = list_records(aws, zone).await?;
    let name = apex(&records);
    Ok((records, name))
}

fn same_content(live: &ResourceRecordSet, want: &ResourceRecordSet) -> bool {
    fn values(r: &ResourceRecordSet) -> Vec<&str> {
        let mut v: Vec<&str> = r.resource_records().iter().map(|x| x.value()).collect();
        v.sort_unstable();
        v
    }
    live.ttl() == want.ttl()
        && values(live) == values(want)
        && live.alias_target().map(|a| (normal_name(a.dns_name()), a.hosted_zone_id()))
            == want.alias_target().map(|a| (normal_name(a.dns_name()), a.hosted_zone_id()))
}

pub(crate) struct Route53Record;

#[async_trait]
impl ResourceHandler for Route53Record {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_zone: BTreeMap<String, Vec<&KnownResource>> = BTreeMap::new();
        for k in &req.known {
            if let Some(zone) = zone_of(k) {
                by_zone.entry(bare_zone_id(&zone).to_string()).or_default().push(k);
            }
        }
        let mut out = Vec::new();
        for (zone, known) in by_zone {
            let Some((records, zone_name)) = crate::iam_util::found(zone_records(aws, &zone).await)?
            else {
                continue;
            };
            for k in known {
                let Some(key) = key_of(k, &zone_name) else {
                    continue;
                };
                if let Some(r) = records.iter().find(|r| matches(r, &key)) {
                    out.push(LiveResource {
                        address: Some(k.address.clone()),
                        id: k.id.clone(),
                        attrs: record_attrs(&zone, &zone_name, r, Some(&k.attrs)),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "ChangeResourceRecordSets";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let zone = bare_zone_id(required(d, "zone_id", ROUTE53, OP)?).to_string();
        let (records, zone_name) = zone_records(aws, &zone).await?;
        let want = desired_set(d, &zone_name)?;
        let key: Key = (
            zone.clone(),
            normal_name(want.name()),
            want.r#type().as_str().to_string(),
            want.set_identifier().map(str::to_string),
        );
        let overwrite = bool_or(d, "allow_overwrite", false);
        let existing = records.iter().find(|r| matches(r, &key));
        let name = key.1.clone();
        match existing {
            // An earlier attempt of this create made it (Route 53 records
            // carry nothing else to tell).
            Some(live) if req.pending_since.is_some() && same_content(live, &want) => {}
            Some(_) if !overwrite => {
                return Err(invalid(
                    ROUTE53,
                    OP,
                    format!(
                        "a {} record named {name:?} already exists in zone {zone}; set \
                         allow_overwrite = true to replace it, or import it (ID {})",
                        key.2,
                        record_id(&zone, &name, &key.2, key.3.as_deref())
                    ),
                ))
            }
            _ => {
                let action = if overwrite {
                    ChangeAction::Upsert
                } else {
                    ChangeAction::Create
                };
                let change_one = built(
                    Change::builder()
                        .action(action)
                        .resource_record_set(want.clone())
                        .build(),
                )?;
                change(aws, &zone, vec![change_one], &deadline).await?;
            }
        }
        let (records, _) = zone_records(aws, &zone).await.map_err(|e| after_create(&name, e))?;
        records
            .iter()
            .find(|r| matches(r, &key))
            .map(|r| record_attrs(&zone, &zone_name, r, Some(d)))
            .ok_or_else(|| after_create(&name, crate::iam_util::gone(ROUTE53, OP, &name)))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "ChangeResourceRecordSets";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let zone = bare_zone_id(required(d, "zone_id", ROUTE53, OP)?).to_string();
        let (_, zone_name) = zone_records(aws, &zone).await?;
        let want = desired_set(d, &zone_name)?;
        let upsert = built(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(want.clone())
                .build(),
        )?;
        change(aws, &zone, vec![upsert], &deadline).await?;
        let key: Key = (
            zone.clone(),
            normal_name(want.name()),
            want.r#type().as_str().to_string(),
            want.set_identifier().map(str::to_string),
        );
        let (records, _) = zone_records(aws, &zone).await?;
        records
            .iter()
            .find(|r| matches(r, &key))
            .map(|r| record_attrs(&zone, &zone_name, r, Some(d)))
            .ok_or_else(|| crate::iam_util::gone(ROUTE53, OP, &key.1))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let Some(zone) = zone_of(&known) else {
            return Ok(());
        };
        let zone = bare_zone_id(&zone).to_string();
        let Some((records, zone_name)) = crate::iam_util::found(zone_records(aws, &zone).await)?
        else {
            return Ok(());
        };
        let Some(key) = key_of(&known, &zone_name) else {
            return Ok(());
        };
        let live: Vec<ResourceRecordSet> =
            records.into_iter().filter(|r| matches(r, &key)).collect();
        match delete_records(aws, &zone, live, &deadline).await {
            // Gone between the listing and the delete.
            Err(e) if has_code(&e, "InvalidChangeBatch") && e.message.contains("not found") => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_terraforms_and_read_back() {
        assert_eq!(record_id("Z1", "www.example.com", "A", None), "Z1_www.example.com_A");
        assert_eq!(record_id("Z1", "a.b", "CNAME", Some("blue")), "Z1_a.b_CNAME_blue");
        let k = KnownResource {
            address: "aws_route53_record.www".parse().unwrap(),
            id: "Z1_www_A_blue".into(),
            attrs: Value::Null,
        };
        assert_eq!(
            key_of(&k, "example.com"),
            Some((
                "Z1".into(),
                "www.example.com".into(),
                "A".into(),
                Some("blue".into())
            ))
        );
    }
}
