//! How long a change of each type takes on AWS, as a model for scheduling:
//! apply starts the chain of steps that is longest by this model first, so
//! a NAT gateway or a load balancer (minutes) is not left waiting behind a
//! row of routes (a second each). Figures are the typical times AWS's
//! documentation and ordinary deployments show (creation until the object
//! is usable, which is what stackd waits for); they are weights, not
//! timeouts. A type not listed takes [`TYPICAL_CHANGE`].

use std::time::Duration;

use stackd_engine::provider::{CheckedChange, TYPICAL_CHANGE};

/// `(type, create, update, delete)` in seconds, for the slow types.
const SLOW: &[(&str, u64, u64, u64)] = &[
    // Available after 1-3 minutes; deleting one takes about one.
    ("aws_nat_gateway", 120, 1, 60),
    // An ALB is active after 2-4 minutes.
    ("aws_lb", 180, 10, 30),
    // RDS: creation 5-15 minutes, changes and deletion minutes.
    ("aws_db_instance", 600, 300, 300),
    // An ECS service is waited for until steady (a deployment), and its
    // deletion drains its tasks.
    ("aws_ecs_service", 120, 120, 60),
    // Interface endpoints take a minute or two either way.
    ("aws_vpc_endpoint", 90, 30, 60),
    // DNS changes are waited for until INSYNC.
    ("aws_route53_record", 45, 45, 45),
    ("aws_route53_zone", 30, 5, 30),
    // A Cloud Map private DNS namespace makes a hosted zone (asynchronous
    // operation).
    ("aws_service_discovery_private_dns_namespace", 60, 5, 60),
    // Validation waits for DNS and issuance.
    ("aws_acm_certificate_validation", 120, 1, 1),
    // An Auto Scaling group waits for its capacity.
    ("aws_autoscaling_group", 90, 30, 90),
    ("aws_instance", 45, 10, 45),
    // Role and policy changes are waited for until IAM reads them back.
    ("aws_iam_role", 3, 3, 3),
    ("aws_iam_role_policy", 3, 3, 3),
    ("aws_iam_policy", 3, 3, 3),
    ("aws_iam_role_policy_attachment", 3, 3, 3),
    ("aws_iam_instance_profile", 5, 5, 5),
    ("aws_cloudtrail", 5, 5, 5),
    ("aws_codebuild_project", 3, 3, 3),
    ("aws_codepipeline", 3, 3, 3),
];

/// The modelled duration of one change of `type_name`.
pub(crate) fn modelled(type_name: &str, change: CheckedChange) -> Duration {
    SLOW.iter()
        .find(|(t, ..)| *t == type_name)
        .map(|(_, create, update, delete)| {
            Duration::from_secs(match change {
                CheckedChange::Create => *create,
                CheckedChange::Update => *update,
                CheckedChange::Delete => *delete,
            })
        })
        .unwrap_or(TYPICAL_CHANGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slow_type_is_served_and_slower_than_a_typical_change() {
        for (type_name, create, ..) in SLOW {
            assert!(
                super::super::resource(type_name).is_some(),
                "{type_name} is not a type this provider serves"
            );
            assert!(Duration::from_secs(*create) > TYPICAL_CHANGE, "{type_name}");
        }
        assert_eq!(
            modelled("aws_nat_gateway", CheckedChange::Create),
            Duration::from_secs(120)
        );
        assert_eq!(modelled("aws_route", CheckedChange::Create), TYPICAL_CHANGE);
    }
}
