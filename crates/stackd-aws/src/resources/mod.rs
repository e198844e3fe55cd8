//! The resource types and data sources the provider serves: one module per
//! type, listed in the two tables below. Adding a type means one new file
//! and one line here.

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DataRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{ResourceSchema, SchemaSet, Value};

use crate::context::Aws;

mod ami;
mod availability_zones;
mod eip;
mod internet_gateway;
mod nat_gateway;
mod route;
mod route_table;
mod route_table_association;
mod security_group;
mod security_group_rule;
mod subnet;
mod vpc;

/// How one managed resource type is read and changed. Mirrors the engine's
/// [`stackd_engine::provider::Provider`] methods for a single type.
#[async_trait]
pub(crate) trait ResourceHandler: Send + Sync {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError>;
    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError>;
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError>;
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError>;
}

/// How one data source is read.
#[async_trait]
pub(crate) trait DataHandler: Send + Sync {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError>;
}

/// A managed resource type.
pub(crate) struct ResourceType {
    pub name: &'static str,
    pub schema: fn() -> ResourceSchema,
    pub handler: &'static dyn ResourceHandler,
}

/// A data source.
pub(crate) struct DataSource {
    pub name: &'static str,
    pub schema: fn() -> ResourceSchema,
    pub handler: &'static dyn DataHandler,
}

/// Every managed resource type.
pub(crate) static RESOURCES: &[ResourceType] = &[
    ResourceType {
        name: "aws_vpc",
        schema: vpc::schema,
        handler: &vpc::Vpc,
    },
    ResourceType {
        name: "aws_subnet",
        schema: subnet::schema,
        handler: &subnet::Subnet,
    },
    ResourceType {
        name: "aws_internet_gateway",
        schema: internet_gateway::schema,
        handler: &internet_gateway::InternetGateway,
    },
    ResourceType {
        name: "aws_eip",
        schema: eip::schema,
        handler: &eip::Eip,
    },
    ResourceType {
        name: "aws_nat_gateway",
        schema: nat_gateway::schema,
        handler: &nat_gateway::NatGateway,
    },
    ResourceType {
        name: "aws_route_table",
        schema: route_table::schema,
        handler: &route_table::RouteTable,
    },
    ResourceType {
        name: "aws_route",
        schema: route::schema,
        handler: &route::Route,
    },
    ResourceType {
        name: "aws_route_table_association",
        schema: route_table_association::schema,
        handler: &route_table_association::RouteTableAssociation,
    },
    ResourceType {
        name: "aws_security_group",
        schema: security_group::schema,
        handler: &security_group::SecurityGroup,
    },
    ResourceType {
        name: "aws_security_group_rule",
        schema: security_group_rule::schema,
        handler: &security_group_rule::SecurityGroupRule,
    },
];

/// Every data source.
pub(crate) static DATA_SOURCES: &[DataSource] = &[
    DataSource {
        name: "aws_availability_zones",
        schema: availability_zones::schema,
        handler: &availability_zones::AvailabilityZones,
    },
    DataSource {
        name: "aws_ami",
        schema: ami::schema,
        handler: &ami::Ami,
    },
];

pub(crate) fn resource(name: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|r| r.name == name)
}

pub(crate) fn data_source(name: &str) -> Option<&'static DataSource> {
    DATA_SOURCES.iter().find(|d| d.name == name)
}

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
pub(crate) fn filters_from_blocks(args: &Value) -> Vec<aws_sdk_ec2::types::Filter> {
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

/// The schemas of every type in the tables.
pub(crate) fn schema_set() -> SchemaSet {
    SchemaSet::new(
        RESOURCES
            .iter()
            .map(|r| (r.schema)())
            .chain(DATA_SOURCES.iter().map(|d| (d.schema)()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_spec::schema::Nesting;
    use stackd_spec::Mode;

    #[test]
    fn table_names_match_schema_names_and_modes() {
        for r in RESOURCES {
            let s = (r.schema)();
            assert_eq!(s.type_name, r.name);
            assert_eq!(s.mode, Mode::Managed, "{}", r.name);
        }
        for d in DATA_SOURCES {
            let s = (d.schema)();
            assert_eq!(s.type_name, d.name);
            assert_eq!(s.mode, Mode::Data, "{}", d.name);
        }
    }

    #[test]
    fn no_schema_declares_an_attribute_twice() {
        fn check(block: &stackd_spec::BlockSchema, path: &str) {
            let mut names: Vec<&str> = block.attrs.iter().map(|a| a.name).collect();
            names.extend(block.blocks.iter().map(|b| b.name));
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                sorted.len(),
                names.len(),
                "duplicate names in {path}: {names:?}"
            );
            for b in &block.blocks {
                assert!(b.nesting != Nesting::Single || b.max_items == Some(1));
                check(b, &format!("{path}.{}", b.name));
            }
        }
        for s in schema_set().schemas {
            check(&s.body, s.type_name);
        }
    }

    #[test]
    fn every_argument_default_has_the_attribute_type() {
        for s in schema_set().schemas {
            for a in &s.body.attrs {
                if let Some(d) = &a.default {
                    let ok = matches!(
                        (&a.ty, d),
                        (stackd_spec::AttrType::Bool, Value::Bool(_))
                            | (stackd_spec::AttrType::String, Value::String(_))
                            | (stackd_spec::AttrType::Number, Value::Number(_))
                    );
                    assert!(ok, "{}.{} default {d}", s.type_name, a.name);
                }
            }
        }
    }
}
