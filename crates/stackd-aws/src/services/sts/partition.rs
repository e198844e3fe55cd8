//! `data.aws_partition`: the partition of the provider's region (`aws`,
//! `aws-cn`, `aws-us-gov`...), its DNS suffix and reverse DNS prefix. No API
//! call: the region decides it.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use crate::context::Aws;
use crate::services::{DataHandler, DataSource};

/// `data.aws_partition`: its schema and handler; it makes no call.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_partition",
    schema,
    handler: &Partition,
    grants: &[],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_partition")
        .doc("The partition of the provider's region.")
        .attr(AttrSchema::computed("partition", AttrType::String).doc("aws, aws-cn, aws-us-gov..."))
        .attr(AttrSchema::computed("dns_suffix", AttrType::String).doc("amazonaws.com, ..."))
        .attr(
            AttrSchema::computed("reverse_dns_prefix", AttrType::String)
                .doc("com.amazonaws, ..."),
        )
}

fn partition_attrs(partition: &str, dns_suffix: &str) -> Value {
    let reverse: Vec<&str> = dns_suffix.split('.').rev().collect();
    Value::map([
        ("id", Value::from(partition)),
        ("partition", Value::from(partition)),
        ("dns_suffix", Value::from(dns_suffix)),
        ("reverse_dns_prefix", Value::from(reverse.join("."))),
    ])
}

pub(crate) struct Partition;

#[async_trait]
impl DataHandler for Partition {
    async fn read(&self, aws: &Aws, _req: &DataRequest) -> Result<Value, ProviderError> {
        Ok(partition_attrs(aws.loc.partition, aws.loc.dns_suffix()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reverse_prefix_reverses_the_suffix() {
        let v = partition_attrs("aws-cn", "amazonaws.com.cn");
        assert_eq!(v.get("reverse_dns_prefix"), Some(&Value::from("cn.com.amazonaws")));
        assert_eq!(v.get("partition"), Some(&Value::from("aws-cn")));
    }
}
