//! ecs: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        ecs_cluster,
        ecs_cluster_capacity_providers,
        ecs_capacity_provider,
        ecs_task_definition,
        ecs_service,
    ],
    data: [
        ecs_cluster_data,
        ecs_task_definition_data,
    ],
}

/// The service: the `Aws` client field `ecs`, IAM prefix `ecs`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "ecs",
    iam_prefix: "ecs",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[CLUSTER, ECS_SERVICE, TASK_DEFINITION, CAPACITY_PROVIDER],
};

// ECS.
pub(crate) const CLUSTER: ArnPattern = arn(
    "Cluster",
    "arn:${partition}:ecs:${region}:${account}:cluster/*",
);
pub(crate) const ECS_SERVICE: ArnPattern = arn(
    "Service",
    "arn:${partition}:ecs:${region}:${account}:service/*",
);
pub(crate) const TASK_DEFINITION: ArnPattern = arn(
    "TaskDefinition",
    "arn:${partition}:ecs:${region}:${account}:task-definition/*",
);
pub(crate) const CAPACITY_PROVIDER: ArnPattern = arn(
    "CapacityProvider",
    "arn:${partition}:ecs:${region}:${account}:capacity-provider/*",
);
