//! elbv2: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        lb,
        lb_target_group,
        lb_listener,
        lb_listener_rule,
        lb_target_group_attachment,
    ],
    data: [
        lb_data,
        lb_target_group_data,
        elb_service_account,
    ],
}

/// The service: the `Aws` client field `elbv2`, IAM prefix `elasticloadbalancing`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "elbv2",
    iam_prefix: "elasticloadbalancing",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[LOAD_BALANCER, TARGET_GROUP, LISTENER, LISTENER_RULE],
};

// Elastic Load Balancing v2.
pub(crate) const LOAD_BALANCER: ArnPattern = arn(
    "LoadBalancer",
    "arn:${partition}:elasticloadbalancing:${region}:${account}:loadbalancer/*",
);
pub(crate) const TARGET_GROUP: ArnPattern = arn(
    "TargetGroup",
    "arn:${partition}:elasticloadbalancing:${region}:${account}:targetgroup/*",
);
pub(crate) const LISTENER: ArnPattern = arn(
    "Listener",
    "arn:${partition}:elasticloadbalancing:${region}:${account}:listener/*",
);
pub(crate) const LISTENER_RULE: ArnPattern = arn(
    "ListenerRule",
    "arn:${partition}:elasticloadbalancing:${region}:${account}:listener-rule/*",
);
