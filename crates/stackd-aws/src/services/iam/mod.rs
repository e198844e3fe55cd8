//! iam: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern, Condition, Grant};
use crate::services::Service;

types! {
    managed: [
        iam_role,
        iam_role_policy,
        iam_role_policy_attachment,
        iam_policy,
        iam_instance_profile,
        iam_policy_attachment,
        iam_openid_connect_provider,
        iam_service_linked_role,
    ],
    data: [
        iam_policy_document,
        iam_role_data,
        iam_policy_data,
    ],
}

pub(crate) mod account;
pub(crate) mod lookups;

/// The service: the `Aws` client field `iam`, IAM prefix `iam`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "iam",
    iam_prefix: "iam",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["NoSuchEntity"],
    arns: &[
        ROLE,
        IAM_POLICY,
        AWS_MANAGED_POLICY,
        INSTANCE_PROFILE,
        USER,
        GROUP,
        OIDC_PROVIDER,
        ELB_SERVICE_LINKED_ROLE,
        ECS_SERVICE_LINKED_ROLE,
        APPAUTOSCALING_ECS_SERVICE_LINKED_ROLE,
        RDS_SERVICE_LINKED_ROLE,
        AUTOSCALING_SERVICE_LINKED_ROLE,
    ],
};

// IAM (global: no region).
pub(crate) const ROLE: ArnPattern = arn("Role", "arn:${partition}:iam::${account}:role/*");
pub(crate) const IAM_POLICY: ArnPattern =
    arn("Policy", "arn:${partition}:iam::${account}:policy/*");
pub(crate) const USER: ArnPattern = arn("User", "arn:${partition}:iam::${account}:user/*");
pub(crate) const GROUP: ArnPattern = arn("Group", "arn:${partition}:iam::${account}:group/*");
pub(crate) const OIDC_PROVIDER: ArnPattern = arn(
    "OidcProvider",
    "arn:${partition}:iam::${account}:oidc-provider/*",
);
pub(crate) const INSTANCE_PROFILE: ArnPattern = arn(
    "InstanceProfile",
    "arn:${partition}:iam::${account}:instance-profile/*",
);
pub(crate) const ELB_SERVICE_LINKED_ROLE: ArnPattern = arn("ElbServiceLinkedRole", "arn:${partition}:iam::${account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing*");
pub(crate) const ECS_SERVICE_LINKED_ROLE: ArnPattern = arn("EcsServiceLinkedRole", "arn:${partition}:iam::${account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS*");

/// `iam:PassRole` on the account's roles, only towards `services`.
pub(crate) const fn pass_role(services: &'static [&'static str]) -> Grant {
    Grant {
        actions: &["iam:PassRole"],
        resources: &[ROLE],
        condition: Some(Condition {
            operator: "StringEquals",
            key: "iam:PassedToService",
            values: services,
        }),
    }
}

/// Application Auto Scaling's service-linked role for ECS services.
pub(crate) const APPAUTOSCALING_ECS_SERVICE_LINKED_ROLE: ArnPattern = arn(
    "AppAutoScalingEcsServiceLinkedRole",
    "arn:${partition}:iam::${account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
);

/// RDS's service-linked role, made by the first DB instance of an account.
pub(crate) const RDS_SERVICE_LINKED_ROLE: ArnPattern = arn(
    "RdsServiceLinkedRole",
    "arn:${partition}:iam::${account}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS",
);

/// EC2 Auto Scaling's service-linked role, made by the first group of an
/// account.
pub(crate) const AUTOSCALING_SERVICE_LINKED_ROLE: ArnPattern = arn(
    "AutoScalingServiceLinkedRole",
    "arn:${partition}:iam::${account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
);

/// AWS's own managed policies (`arn:aws:iam::aws:policy/...`).
pub(crate) const AWS_MANAGED_POLICY: ArnPattern =
    arn("AwsManagedPolicy", "arn:${partition}:iam::aws:policy/*");
