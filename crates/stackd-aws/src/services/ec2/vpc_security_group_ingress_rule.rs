//! `aws_vpc_security_group_ingress_rule`: one ingress rule of a security group
//! with its own ID and tags (see [`super::vpc_security_group_rules`]). Its ID
//! is the rule's `sgr-…` ID, as in Terraform (also the import ID).

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{ResourceSchema, Value};

use super::vpc_security_group_rules::{
    authorize_ingress, create_rule, delete_rule, refresh_rules, revoke_ingress, rule_schema, update_rule,
};
use super::{SECURITY_GROUP, SECURITY_GROUP_RULE};
use crate::context::Aws;
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};

/// `aws_vpc_security_group_ingress_rule`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_vpc_security_group_ingress_rule",
    schema,
    handler: &VpcSecurityGroupIngressRule,
    grants: &[
        g(&["ec2:DescribeSecurityGroupRules"], ANY),
        g(
            &[
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateTags",
                "ec2:DeleteTags",
                "ec2:ModifySecurityGroupRules",
                "ec2:RevokeSecurityGroupIngress",
            ],
            &[SECURITY_GROUP, SECURITY_GROUP_RULE],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    rule_schema(
        "aws_vpc_security_group_ingress_rule",
        "One ingress rule of a security group, with its own ID and tags.",
    )
}

pub(crate) struct VpcSecurityGroupIngressRule;

#[async_trait]
impl ResourceHandler for VpcSecurityGroupIngressRule {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        refresh_rules(aws, req, false).await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        create_rule(aws, req, false, |g, p, s| authorize_ingress(aws, g, p, s)).await
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        update_rule(aws, req).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        delete_rule(req, |g, id| revoke_ingress(aws, g, id)).await
    }
}
