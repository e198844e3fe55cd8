//! ec2: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        vpc,
        subnet,
        internet_gateway,
        eip,
        nat_gateway,
        route_table,
        route,
        route_table_association,
        security_group,
        security_group_rule,
        vpc_security_group_ingress_rule,
        vpc_security_group_egress_rule,
        key_pair,
        instance,
        launch_template,
        vpc_endpoint,
        vpc_endpoint_route_table_association,
        network_acl,
        network_acl_rule,
        default_security_group,
        default_route_table,
        flow_log,
    ],
    data: [
        availability_zones,
        ami,
        vpc_data,
        subnet_data,
        subnets_data,
        security_group_data,
        key_pair_data,
    ],
}

pub(crate) mod lookups;
pub(crate) mod vpc_security_group_rules;

/// The service: the `Aws` client field `ec2`, IAM prefix `ec2`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "ec2",
    iam_prefix: "ec2",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[
        VPC,
        SUBNET,
        INTERNET_GATEWAY,
        VPN_GATEWAY,
        ELASTIC_IP,
        IPV4_POOL,
        NAT_GATEWAY,
        ROUTE_TABLE,
        SECURITY_GROUP,
        SECURITY_GROUP_RULE,
        KEY_PAIR,
        INSTANCE,
        VOLUME,
        NETWORK_INTERFACE,
        IMAGE,
        LAUNCH_TEMPLATE,
        VPC_ENDPOINT,
        VPC_ENDPOINT_SERVICE,
        NETWORK_ACL,
        VPC_FLOW_LOG,
    ],
};

// EC2, in the region and account (images are the region's, of any owner).
pub(crate) const VPC: ArnPattern = arn("Vpc", "arn:${partition}:ec2:${region}:${account}:vpc/*");
pub(crate) const SUBNET: ArnPattern = arn(
    "Subnet",
    "arn:${partition}:ec2:${region}:${account}:subnet/*",
);
pub(crate) const INTERNET_GATEWAY: ArnPattern = arn(
    "InternetGateway",
    "arn:${partition}:ec2:${region}:${account}:internet-gateway/*",
);
pub(crate) const VPN_GATEWAY: ArnPattern = arn(
    "VpnGateway",
    "arn:${partition}:ec2:${region}:${account}:vpn-gateway/*",
);
pub(crate) const ELASTIC_IP: ArnPattern = arn(
    "ElasticIp",
    "arn:${partition}:ec2:${region}:${account}:elastic-ip/*",
);
pub(crate) const IPV4_POOL: ArnPattern = arn(
    "Ipv4Pool",
    "arn:${partition}:ec2:${region}:${account}:ipv4pool-ec2/*",
);
pub(crate) const NAT_GATEWAY: ArnPattern = arn(
    "NatGateway",
    "arn:${partition}:ec2:${region}:${account}:natgateway/*",
);
pub(crate) const ROUTE_TABLE: ArnPattern = arn(
    "RouteTable",
    "arn:${partition}:ec2:${region}:${account}:route-table/*",
);
pub(crate) const SECURITY_GROUP: ArnPattern = arn(
    "SecurityGroup",
    "arn:${partition}:ec2:${region}:${account}:security-group/*",
);
pub(crate) const SECURITY_GROUP_RULE: ArnPattern = arn(
    "SecurityGroupRule",
    "arn:${partition}:ec2:${region}:${account}:security-group-rule/*",
);
pub(crate) const KEY_PAIR: ArnPattern = arn(
    "KeyPair",
    "arn:${partition}:ec2:${region}:${account}:key-pair/*",
);
pub(crate) const INSTANCE: ArnPattern = arn(
    "Instance",
    "arn:${partition}:ec2:${region}:${account}:instance/*",
);
pub(crate) const VOLUME: ArnPattern = arn(
    "Volume",
    "arn:${partition}:ec2:${region}:${account}:volume/*",
);
pub(crate) const NETWORK_INTERFACE: ArnPattern = arn(
    "NetworkInterface",
    "arn:${partition}:ec2:${region}:${account}:network-interface/*",
);
pub(crate) const LAUNCH_TEMPLATE: ArnPattern = arn(
    "LaunchTemplate",
    "arn:${partition}:ec2:${region}:${account}:launch-template/*",
);
pub(crate) const VPC_ENDPOINT: ArnPattern = arn(
    "VpcEndpoint",
    "arn:${partition}:ec2:${region}:${account}:vpc-endpoint/*",
);
pub(crate) const VPC_ENDPOINT_SERVICE: ArnPattern = arn(
    "VpcEndpointService",
    "arn:${partition}:ec2:${region}:*:vpc-endpoint-service/*",
);
pub(crate) const NETWORK_ACL: ArnPattern = arn(
    "NetworkAcl",
    "arn:${partition}:ec2:${region}:${account}:network-acl/*",
);
pub(crate) const VPC_FLOW_LOG: ArnPattern = arn(
    "VpcFlowLog",
    "arn:${partition}:ec2:${region}:${account}:vpc-flow-log/*",
);
pub(crate) const IMAGE: ArnPattern = arn("Image", "arn:${partition}:ec2:${region}::image/*");

/// The `filter { name = ..., values = [...] }` block of EC2 data sources.
pub(crate) fn filter_block() -> stackd_spec::BlockSchema {
    use stackd_spec::schema::Nesting;
    use stackd_spec::{AttrSchema, AttrType, BlockSchema};
    BlockSchema::new("filter", Nesting::Set)
        .attr(AttrSchema::required("name", AttrType::String))
        .attr(AttrSchema::required(
            "values",
            AttrType::set_of(AttrType::String),
        ))
}

/// The `filter` blocks of data source arguments as EC2 filters.
pub(crate) fn filters_from_blocks(args: &stackd_spec::Value) -> Vec<aws_sdk_ec2::types::Filter> {
    crate::args::blocks(args, "filter")
        .iter()
        .filter_map(|b| {
            let name = crate::args::opt_str(b, "name")?;
            Some(crate::refresh::filter(
                name,
                crate::args::str_list(b, "values"),
            ))
        })
        .collect()
}

/// The EC2 filters a data source's arguments ask for: each set argument of
/// `pairs` (`("cidr_block", "cidr")`) as that filter, the `tags` map as
/// `tag:KEY` filters, and the `filter` blocks.
pub(crate) fn data_filters(
    args: &stackd_spec::Value,
    pairs: &[(&str, &str)],
) -> Vec<aws_sdk_ec2::types::Filter> {
    use stackd_spec::Value;
    let mut filters = Vec::new();
    for (arg, name) in pairs {
        let value = match args.get(arg) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        filters.push(crate::refresh::filter(name, [value]));
    }
    for (k, v) in crate::args::str_map(args, "tags") {
        filters.push(crate::refresh::filter(&format!("tag:{k}"), [v]));
    }
    filters.extend(filters_from_blocks(args));
    filters
}

/// The one object a data source's filters matched, or Terraform's error
/// for none or several.
pub(crate) fn exactly_one<T>(
    mut found: Vec<T>,
    what: &str,
    operation: &str,
) -> Result<T, stackd_engine::provider::ProviderError> {
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(crate::error::invalid(
            operation,
            format!("no matching {what} found"),
        )),
        n => Err(crate::error::invalid(
            operation,
            format!(
                "{n} {what}s matched; use additional constraints to reduce matches to a single {what}"
            ),
        )),
    }
}
