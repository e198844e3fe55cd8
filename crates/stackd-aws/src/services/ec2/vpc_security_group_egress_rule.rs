//! `aws_vpc_security_group_egress_rule`: one egress rule of a security group
//! with its own ID and tags (see [`super::vpc_security_group_rules`]). Its ID
//! is the rule's `sgr-…` ID, as in Terraform (also the import ID).

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{ResourceSchema, Value};

use super::vpc_security_group_rules::{
    authorize_egress, create_rule, delete_rule, refresh_rules, revoke_egress, rule_schema, update_rule,
};
use super::{SECURITY_GROUP, SECURITY_GROUP_RULE};
use crate::context::Aws;
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};

/// `aws_vpc_security_group_egress_rule`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_vpc_security_group_egress_rule",
    schema,
    handler: &VpcSecurityGroupEgressRule,
    grants: &[
        g(&["ec2:DescribeSecurityGroupRules"], ANY),
        g(
            &[
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:CreateTags",
                "ec2:DeleteTags",
                "ec2:ModifySecurityGroupRules",
                "ec2:RevokeSecurityGroupEgress",
            ],
            &[SECURITY_GROUP, SECURITY_GROUP_RULE],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    rule_schema(
        "aws_vpc_security_group_egress_rule",
        "One egress rule of a security group, with its own ID and tags.",
    )
}

pub(crate) struct VpcSecurityGroupEgressRule;

#[async_trait]
impl ResourceHandler for VpcSecurityGroupEgressRule {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        refresh_rules(aws, req, true).await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        create_rule(aws, req, true, |g, p, s| authorize_egress(aws, g, p, s)).await
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        update_rule(aws, req).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        delete_rule(req, |g, id| revoke_egress(aws, g, id)).await
    }
}
