//! `aws_route`: one route in a route table.
//!
//! Routes have no ID or tags in EC2. The ID is `<route_table_id>_<destination>`
//! (the form `terraform import` takes for `aws_route`; the Terraform provider
//! stores a hash instead), and a refresh finds known routes through their
//! tables: one `DescribeRouteTables` for every table holding a known route.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, RouteOrigin, RouteState};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Timeouts};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::route_table::{
    create_route, delete_route, describe_route_tables, live_destination, live_targets,
    replace_route, Destination, RouteSpec, Target, TARGETS,
};
use super::ROUTE_TABLE;
use crate::args::{opt_str, req_str, s};
use crate::context::Aws;
use crate::error::{after_create, gone, invalid};
use crate::policy::{g, ANY};
use crate::refresh::{filter, MAX_FILTER_VALUES};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{until, Deadline};

const DESTINATIONS: [&str; 3] = [
    "destination_cidr_block",
    "destination_ipv6_cidr_block",
    "destination_prefix_list_id",
];

/// `aws_route`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_route",
    schema,
    handler: &Route,
    grants: &[
        g(&["ec2:DescribeRouteTables"], ANY),
        g(
            &["ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute"],
            &[ROUTE_TABLE],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let mut schema = ResourceSchema::resource("aws_route")
        .doc("A route in a route table.")
        .attr(
            AttrSchema::required("route_table_id", AttrType::String)
                .force_new()
                .doc("The route table."),
        )
        .attr(
            AttrSchema::optional("destination_cidr_block", AttrType::String)
                .force_new()
                .check(Check::Ipv4Cidr)
                .doc("The IPv4 destination."),
        )
        .attr(
            AttrSchema::optional("destination_ipv6_cidr_block", AttrType::String)
                .force_new()
                .doc("The IPv6 destination."),
        )
        .attr(
            AttrSchema::optional("destination_prefix_list_id", AttrType::String)
                .force_new()
                .doc("The managed prefix list destination."),
        );
    for t in TARGETS {
        schema = schema.attr(if t == "network_interface_id" {
            // EC2 reports an instance route's interface as well.
            AttrSchema::optional_computed(t, AttrType::String)
        } else {
            AttrSchema::optional(t, AttrType::String)
        });
    }
    schema
        .attr(
            AttrSchema::computed("instance_id", AttrType::String)
                .doc("The instance behind the route's interface."),
        )
        .attr(
            AttrSchema::computed("instance_owner_id", AttrType::String)
                .doc("The account owning that instance."),
        )
        .attr(AttrSchema::computed("origin", AttrType::String).doc("How the route was created."))
        .attr(
            AttrSchema::computed("state", AttrType::String)
                .doc("`active`, or `blackhole` when the target is gone."),
        )
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 2 * 60,
            delete_secs: 5 * 60,
        })
}

/// The resource ID of a route.
pub(crate) fn route_id(table: &str, destination: &Destination) -> String {
    format!("{table}_{}", destination.value())
}

/// The destination named by `aws_route` arguments.
fn destination_of(v: &Value) -> Option<Destination> {
    if let Some(d) = opt_str(v, "destination_cidr_block") {
        Some(Destination::Ipv4(d.into()))
    } else if let Some(d) = opt_str(v, "destination_ipv6_cidr_block") {
        Some(Destination::Ipv6(d.into()))
    } else {
        opt_str(v, "destination_prefix_list_id").map(|d| Destination::PrefixList(d.into()))
    }
}

fn spec_of(v: &Value, operation: &str) -> Result<RouteSpec, ProviderError> {
    let destination = destination_of(v).ok_or_else(|| {
        invalid(
            operation,
            format!("a route needs one of {}", DESTINATIONS.join(", ")),
        )
    })?;
    let target = TARGETS
        .iter()
        .find_map(|k| {
            opt_str(v, k).map(|id| Target {
                attr: k,
                id: id.to_string(),
            })
        })
        .ok_or_else(|| {
            invalid(
                operation,
                format!("a route needs one target: {}", TARGETS.join(", ")),
            )
        })?;
    Ok(RouteSpec {
        destination,
        target,
    })
}

/// Where a known route lives: from its recorded attributes, else its ID.
fn locate(known: &KnownResource) -> Option<(String, Destination)> {
    let table = opt_str(&known.attrs, "route_table_id").map(str::to_string);
    let destination = destination_of(&known.attrs);
    match (table, destination) {
        (Some(t), Some(d)) => Some((t, d)),
        _ => {
            let (table, dest) = known.id.split_once('_')?;
            let dest = if dest.starts_with("pl-") {
                Destination::PrefixList(dest.into())
            } else if dest.contains(':') {
                Destination::Ipv6(dest.into())
            } else {
                Destination::Ipv4(dest.into())
            };
            Some((table.to_string(), dest))
        }
    }
}

fn route_attrs(table: &str, route: &types::Route) -> Value {
    let targets = live_targets(route);
    let mut pairs: Vec<(&str, Value)> = vec![
        ("route_table_id", s(Some(table))),
        ("destination_cidr_block", s(route.destination_cidr_block())),
        (
            "destination_ipv6_cidr_block",
            s(route.destination_ipv6_cidr_block()),
        ),
        (
            "destination_prefix_list_id",
            s(route.destination_prefix_list_id()),
        ),
        ("instance_id", s(route.instance_id())),
        ("instance_owner_id", s(route.instance_owner_id())),
        ("origin", s(route.origin().map(RouteOrigin::as_str))),
        ("state", s(route.state().map(RouteState::as_str))),
    ];
    for t in TARGETS {
        pairs.push((t, s(targets.get(t).map(String::as_str))));
    }
    if let Some(d) = live_destination(route) {
        pairs.push(("id", Value::from(route_id(table, &d))));
    }
    Value::map(pairs)
}

/// The route to `destination` in `table`, if both exist.
async fn find_route(
    aws: &Aws,
    table: &str,
    destination: &Destination,
) -> Result<Option<types::Route>, ProviderError> {
    let tables = describe_route_tables(aws, vec![filter("route-table-id", [table])]).await?;
    Ok(tables
        .first()
        .and_then(|t| {
            t.routes()
                .iter()
                .find(|r| live_destination(r).as_ref() == Some(destination))
        })
        .cloned())
}

async fn read(
    aws: &Aws,
    table: &str,
    destination: &Destination,
    args: &Value,
) -> Result<Option<Value>, ProviderError> {
    Ok(find_route(aws, table, destination)
        .await?
        .map(|r| as_written(route_attrs(table, &r), args)))
}

/// A NAT gateway given as `gateway_id` (AWS takes it there, and files it
/// as `nat_gateway_id`) read back where the spec wrote it. Terraform's
/// provider shows a change on every plan for this common form
/// (hashicorp/terraform-provider-aws#31124).
fn as_written(mut attrs: Value, args: &Value) -> Value {
    let Some(nat) = opt_str(args, "gateway_id").filter(|g| g.starts_with("nat-")) else {
        return attrs;
    };
    let nat = nat.to_string();
    if let Value::Map(m) = &mut attrs {
        let filed = m.get("nat_gateway_id").and_then(Value::as_str) == Some(nat.as_str());
        let no_gateway = m.get("gateway_id").is_none_or(Value::is_null);
        if filed && no_gateway && opt_str(args, "nat_gateway_id").is_none() {
            m.insert("gateway_id".into(), Value::from(nat));
            m.insert("nat_gateway_id".into(), Value::Null);
        }
    }
    attrs
}

pub(crate) struct Route;

#[async_trait]
impl ResourceHandler for Route {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let located: Vec<(&KnownResource, String, Destination)> = req
            .known
            .iter()
            .filter_map(|k| locate(k).map(|(t, d)| (k, t, d)))
            .collect();
        let table_ids: Vec<String> = located
            .iter()
            .map(|(_, t, _)| t.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut tables = Vec::new();
        for chunk in table_ids.chunks(MAX_FILTER_VALUES) {
            tables.extend(
                describe_route_tables(aws, vec![filter("route-table-id", chunk.iter().cloned())])
                    .await?,
            );
        }
        Ok(located
            .into_iter()
            .filter_map(|(known, table, destination)| {
                let route = tables
                    .iter()
                    .find(|t| t.route_table_id() == Some(table.as_str()))?
                    .routes()
                    .iter()
                    .find(|r| live_destination(r).as_ref() == Some(&destination))?;
                Some(LiveResource {
                    id: known.id.clone(),
                    address: Some(known.address.clone()),
                    attrs: as_written(route_attrs(&table, route), &known.attrs),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let table = req_str(&req.desired, "route_table_id", "CreateRoute")?;
        let spec = spec_of(&req.desired, "CreateRoute")?;
        let id = route_id(table, &spec.destination);
        // A route an earlier attempt made to the same target is adopted
        // (see `create_route`).
        create_route(aws, table, &spec, &deadline).await?;
        until(
            &deadline,
            "DescribeRouteTables",
            &format!("route {id} to be visible"),
            || read(aws, table, &spec.destination, &req.desired),
        )
        .await
        .map_err(|e| after_create(&id, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let table = req_str(&req.desired, "route_table_id", "ReplaceRoute")?;
        let spec = spec_of(&req.desired, "ReplaceRoute")?;
        replace_route(aws, table, &spec, &deadline).await?;
        read(aws, table, &spec.destination, &req.desired)
            .await?
            .ok_or_else(|| gone("DescribeRouteTables", &route_id(table, &spec.destination)))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let (table, destination) = locate(&known).ok_or_else(|| {
            invalid(
                "DeleteRoute",
                format!("cannot tell the route table of {}", req.id),
            )
        })?;
        delete_route(aws, &table, &destination).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(id: &str, attrs: Value) -> KnownResource {
        KnownResource {
            address: "aws_route.r".parse().unwrap(),
            id: id.into(),
            attrs,
        }
    }

    #[test]
    fn ids_join_table_and_destination() {
        assert_eq!(
            route_id("rtb-1", &Destination::Ipv4("0.0.0.0/0".into())),
            "rtb-1_0.0.0.0/0"
        );
    }

    #[test]
    fn known_routes_are_located_by_attrs_or_id() {
        let attrs = Value::map([
            ("route_table_id", Value::from("rtb-1")),
            ("destination_ipv6_cidr_block", Value::from("::/0")),
        ]);
        assert_eq!(
            locate(&known("x", attrs)),
            Some(("rtb-1".into(), Destination::Ipv6("::/0".into())))
        );
        assert_eq!(
            locate(&known("rtb-2_10.0.0.0/8", Value::Null)),
            Some(("rtb-2".into(), Destination::Ipv4("10.0.0.0/8".into())))
        );
        assert_eq!(
            locate(&known("rtb-2_pl-123", Value::Null)),
            Some(("rtb-2".into(), Destination::PrefixList("pl-123".into())))
        );
        assert_eq!(locate(&known("garbage", Value::Null)), None);
    }

    #[test]
    fn live_route_is_in_schema_shape() {
        let r = types::Route::builder()
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id("nat-1")
            .origin(RouteOrigin::CreateRoute)
            .state(RouteState::Active)
            .build();
        let v = route_attrs("rtb-1", &r);
        assert_eq!(v.get("id"), Some(&Value::from("rtb-1_0.0.0.0/0")));
        assert_eq!(v.get("nat_gateway_id"), Some(&Value::from("nat-1")));
        assert_eq!(v.get("gateway_id"), Some(&Value::Null));
        assert_eq!(v.get("state"), Some(&Value::from("active")));
        assert_eq!(v.get("origin"), Some(&Value::from("CreateRoute")));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }

    #[test]
    fn arguments_name_one_destination_and_one_target() {
        let v = Value::map([
            ("route_table_id", Value::from("rtb-1")),
            ("destination_cidr_block", Value::from("0.0.0.0/0")),
            ("gateway_id", Value::from("igw-1")),
            ("nat_gateway_id", Value::Null),
        ]);
        let spec = spec_of(&v, "CreateRoute").unwrap();
        assert_eq!(
            spec.target,
            Target {
                attr: "gateway_id",
                id: "igw-1".into()
            }
        );
        assert!(spec_of(
            &Value::map([("gateway_id", Value::from("igw-1"))]),
            "CreateRoute"
        )
        .is_err());
    }

    #[test]
    fn a_nat_gateway_given_as_gateway_id_reads_back_there() {
        let r = types::Route::builder()
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id("nat-1")
            .build();
        let args = Value::map([("gateway_id", Value::from("nat-1"))]);
        let v = as_written(route_attrs("rtb-1", &r), &args);
        assert_eq!(v.get("gateway_id"), Some(&Value::from("nat-1")));
        assert_eq!(v.get("nat_gateway_id"), Some(&Value::Null));
        let plain = as_written(route_attrs("rtb-1", &r), &Value::Null);
        assert_eq!(plain.get("nat_gateway_id"), Some(&Value::from("nat-1")));
    }

}
