//! Route 53: hosted zones and their records. Route 53 is global: its ARNs
//! carry no region or account.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        route53_zone,
        route53_record,
    ],
    data: [
        route53_zone_data,
    ],
}

/// The service: the `Aws` client field `route53`, IAM prefix `route53`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "route53",
    iam_prefix: "route53",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["NoSuchHostedZone"],
    arns: &[HOSTED_ZONE, CHANGE],
};

/// The service name errors carry.
pub(crate) const ROUTE53: &str = "route53";

pub(crate) const HOSTED_ZONE: ArnPattern =
    arn("HostedZone", "arn:${partition}:route53:::hostedzone/*");
pub(crate) const CHANGE: ArnPattern = arn("Change", "arn:${partition}:route53:::change/*");

/// A zone ID without the `/hostedzone/` Route 53 puts before it.
pub(crate) fn bare_zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// A DNS name as Terraform compares it: lower case, `\052` as `*`, no
/// trailing dot.
pub(crate) fn normal_name(name: &str) -> String {
    name.replace("\\052", "*")
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// `name` within `zone`: a name that does not end with the zone's is
/// relative to it (`www` in `example.com` is `www.example.com`).
pub(crate) fn expand_name(name: &str, zone: &str) -> String {
    let (name, zone) = (normal_name(name), normal_name(zone));
    if name == zone || name.ends_with(&format!(".{zone}")) || zone.is_empty() {
        name
    } else if name.is_empty() {
        zone
    } else {
        format!("{name}.{zone}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_terraform_compares_them() {
        assert_eq!(normal_name("WWW.Example.com."), "www.example.com");
        assert_eq!(normal_name("\\052.example.com."), "*.example.com");
        assert_eq!(expand_name("www", "example.com."), "www.example.com");
        assert_eq!(
            expand_name("www.example.com", "example.com"),
            "www.example.com"
        );
        assert_eq!(expand_name("example.com.", "example.com"), "example.com");
        assert_eq!(bare_zone_id("/hostedzone/Z123"), "Z123");
    }
}
