//! `aws_lb_target_group_attachment`: one target (an instance, an IP
//! address, a Lambda function or an ALB) registered with a target group.
//!
//! Every argument forces replacement, as in Terraform. Terraform's ID is a
//! generated `<target_group_arn>-<timestamp>`, which a retried create could
//! not reproduce; stackd's is `target_group_arn,target_id,port,availability_zone`
//! (empty fields for an unset port or zone; an ARN holds no comma), so a
//! refresh can read an attachment whose attributes state lost, and an
//! attachment can be imported by it (Terraform cannot import this type).
//! `RegisterTargets` is idempotent: a target already registered is success.
//!
//! Targets can only be read per target group: a refresh groups the known
//! attachments by target group and calls `DescribeTargetHealth` once per
//! distinct group ([`crate::concurrent::MAX_CONCURRENT_READS`] groups at
//! once); ELBv2 has no read across groups. A target `draining` or reported
//! `Target.NotRegistered` is taken as detached.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealthDescription};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::TARGET_GROUP;
use crate::args::{num, opt_int, opt_str, req_str, s};
use crate::context::Aws;
use crate::elbv2_ecs_util::{invalid, SdkResultExt, ELBV2};
use crate::error::{after_create, has_code, ignore_not_found};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_lb_target_group_attachment`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_lb_target_group_attachment",
    schema,
    handler: &LbTargetGroupAttachment,
    grants: &[
        // DescribeTargetHealth takes no resource-level permissions.
        g(&["elasticloadbalancing:DescribeTargetHealth"], ANY),
        g(
            &[
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:RegisterTargets",
            ],
            &[TARGET_GROUP],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_lb_target_group_attachment")
        .alias("aws_alb_target_group_attachment")
        .doc("A target registered with a load balancer target group.")
        .attr(
            AttrSchema::required("target_group_arn", AttrType::String)
                .force_new()
                .doc("The ARN of the target group."),
        )
        .attr(
            AttrSchema::required("target_id", AttrType::String)
                .force_new()
                .doc("An instance ID, an IP address, a Lambda function ARN or an ALB ARN."),
        )
        .attr(
            AttrSchema::optional("port", AttrType::Number)
                .force_new()
                .doc("The port the target receives traffic on; the group's port when unset."),
        )
        .attr(
            AttrSchema::optional("availability_zone", AttrType::String)
                .force_new()
                .doc("The zone of an IP target outside the group's VPC (`all` for any)."),
        )
}

/// One attachment: what identifies it in its target group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Attachment {
    target_group_arn: String,
    target_id: String,
    port: Option<i32>,
    availability_zone: Option<String>,
}

impl Attachment {
    fn from_args(d: &Value, operation: &str) -> Result<Attachment, ProviderError> {
        let arg = |key| req_str(d, key, operation).map(str::to_string);
        Ok(Attachment {
            target_group_arn: arg("target_group_arn")?,
            target_id: arg("target_id")?,
            port: opt_int(d, "port").map(|p| p as i32),
            availability_zone: opt_str(d, "availability_zone").map(str::to_string),
        })
    }

    /// `target_group_arn,target_id,port,availability_zone`.
    fn id(&self) -> String {
        format!(
            "{},{},{},{}",
            self.target_group_arn,
            self.target_id,
            self.port.map(|p| p.to_string()).unwrap_or_default(),
            self.availability_zone.as_deref().unwrap_or_default()
        )
    }

    fn parse_id(id: &str) -> Option<Attachment> {
        let mut parts = id.split(',');
        let (arn, target, port, zone) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || arn.is_empty() || target.is_empty() {
            return None;
        }
        let port = match port {
            "" => None,
            p => Some(p.parse().ok()?),
        };
        Some(Attachment {
            target_group_arn: arn.to_string(),
            target_id: target.to_string(),
            port,
            availability_zone: (!zone.is_empty()).then(|| zone.to_string()),
        })
    }

    fn target(&self) -> TargetDescription {
        TargetDescription::builder()
            .id(&self.target_id)
            .set_port(self.port)
            .set_availability_zone(self.availability_zone.clone())
            .build()
    }

    fn attrs(&self) -> Value {
        Value::map([
            ("id", Value::from(self.id())),
            ("target_group_arn", Value::from(self.target_group_arn.as_str())),
            ("target_id", Value::from(self.target_id.as_str())),
            ("port", self.port.map(num).unwrap_or(Value::Null)),
            ("availability_zone", s(self.availability_zone.as_deref())),
        ])
    }

    /// True when `d` (one target of the group's answer) is this target,
    /// registered: the same ID, and the same port when one was given (a
    /// target registered without one is listed with the group's port).
    fn is(&self, d: &TargetHealthDescription) -> bool {
        let Some(t) = d.target() else { return false };
        t.id() == Some(self.target_id.as_str())
            && (self.port.is_none() || t.port() == self.port)
            && !is_leaving(d)
    }
}

/// A target on its way out (`draining`) or not registered at all.
fn is_leaving(d: &TargetHealthDescription) -> bool {
    d.target_health().is_some_and(|h| {
        h.state().is_some_and(|s| s.as_str() == "draining")
            || h.reason()
                .is_some_and(|r| r.as_str() == "Target.NotRegistered")
    })
}

/// The targets of a group; `None` when the group is gone.
async fn targets_of(
    aws: &Aws,
    group: &str,
) -> Result<Option<Vec<TargetHealthDescription>>, ProviderError> {
    let out = aws
        .elbv2
        .describe_target_health()
        .target_group_arn(group)
        .send()
        .await
        .elbv2("DescribeTargetHealth");
    match out {
        Ok(out) => Ok(Some(out.target_health_descriptions().to_vec())),
        Err(e) if e.kind == stackd_engine::provider::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The attachment of a known instance: its recorded arguments, else its ID.
fn known_attachment(k: &stackd_engine::provider::KnownResource) -> Option<Attachment> {
    Attachment::from_args(&k.attrs, "DescribeTargetHealth")
        .ok()
        .or_else(|| Attachment::parse_id(&k.id))
}

pub(crate) struct LbTargetGroupAttachment;

#[async_trait]
impl ResourceHandler for LbTargetGroupAttachment {
    /// One `DescribeTargetHealth` per distinct target group of the known
    /// attachments (ELBv2 reads targets only group by group).
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let wanted: Vec<_> = req
            .known
            .iter()
            .filter_map(|k| known_attachment(k).map(|a| (k, a)))
            .collect();
        let groups: Vec<String> = wanted
            .iter()
            .map(|(_, a)| a.target_group_arn.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let answers =
            crate::concurrent::bounded_all(groups.iter().map(|g| targets_of(aws, g))).await;
        let mut by_group = BTreeMap::new();
        for (group, answer) in groups.iter().zip(answers) {
            by_group.insert(group.as_str(), answer?.unwrap_or_default());
        }
        Ok(wanted
            .into_iter()
            .filter(|(_, a)| {
                by_group
                    .get(a.target_group_arn.as_str())
                    .is_some_and(|targets| targets.iter().any(|t| a.is(t)))
            })
            .map(|(k, a)| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs: a.attrs(),
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let a = Attachment::from_args(&req.desired, "RegisterTargets")?;
        // A group or instance created a moment ago may not be visible yet;
        // registering a registered target again changes nothing.
        retry(&deadline, || async {
            aws.elbv2
                .register_targets()
                .target_group_arn(&a.target_group_arn)
                .targets(a.target())
                .send()
                .await
                .elbv2("RegisterTargets")
        })
        .await?;
        let id = a.id();
        until(
            &deadline,
            "DescribeTargetHealth",
            &format!("{} to be registered with {}", a.target_id, a.target_group_arn),
            || async {
                let targets = targets_of(aws, &a.target_group_arn).await?;
                Ok(targets
                    .filter(|ts| ts.iter().any(|t| a.is(t)))
                    .map(|_| a.attrs()))
            },
        )
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// The target group, when its ARN is known now, must exist.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(group) = creating(req).and_then(|d| known_str(d, "target_group_arn")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "elasticloadbalancing:DescribeTargetHealth";
        let mut findings = Findings::new();
        if let Some(None) = findings.read(ACTION, targets_of(aws, group).await)? {
            findings.missing(ACTION, "target group", group, "");
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, _aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Every argument forces replacement; nothing changes in place.
        Ok(Attachment::from_args(&req.desired, "RegisterTargets")?.attrs())
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let a = Attachment::from_args(&req.prior, "DeregisterTargets")
            .ok()
            .or_else(|| Attachment::parse_id(&req.id))
            .ok_or_else(|| {
                invalid(
                    ELBV2,
                    "DeregisterTargets",
                    format!(
                        "attachment ID {:?} is not of the form \
                         target_group_arn,target_id,port,availability_zone",
                        req.id
                    ),
                )
            })?;
        // A group already gone holds no target; `InvalidTarget` names a
        // target that no longer exists (an instance terminated), which is
        // registered nowhere, as the Terraform provider's read takes it.
        let answer = aws
            .elbv2
            .deregister_targets()
            .target_group_arn(&a.target_group_arn)
            .targets(a.target())
            .send()
            .await
            .elbv2("DeregisterTargets")
            .map(|_| ());
        match answer {
            Err(e) if has_code(&e, "InvalidTarget") => Ok(()),
            other => ignore_not_found(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{
        TargetHealth, TargetHealthReasonEnum, TargetHealthStateEnum,
    };

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc";

    #[test]
    fn ids_round_trip_with_and_without_port_and_zone() {
        let full = Attachment {
            target_group_arn: TG.into(),
            target_id: "10.0.1.5".into(),
            port: Some(8080),
            availability_zone: Some("all".into()),
        };
        assert_eq!(full.id(), format!("{TG},10.0.1.5,8080,all"));
        assert_eq!(Attachment::parse_id(&full.id()), Some(full));
        let bare = Attachment {
            target_group_arn: TG.into(),
            target_id: "i-1".into(),
            port: None,
            availability_zone: None,
        };
        assert_eq!(bare.id(), format!("{TG},i-1,,"));
        assert_eq!(Attachment::parse_id(&bare.id()), Some(bare));
        assert_eq!(Attachment::parse_id(&format!("{TG}-20240101")), None);
        assert_eq!(Attachment::parse_id(&format!("{TG},i-1,x,")), None);
    }

    fn described(id: &str, port: i32, state: TargetHealthStateEnum) -> TargetHealthDescription {
        TargetHealthDescription::builder()
            .target(TargetDescription::builder().id(id).port(port).build())
            .target_health(TargetHealth::builder().state(state).build())
            .build()
    }

    #[test]
    fn a_target_matches_by_id_and_port_unless_it_is_leaving() {
        let a = Attachment::parse_id(&format!("{TG},i-1,80,")).unwrap();
        assert!(a.is(&described("i-1", 80, TargetHealthStateEnum::Healthy)));
        assert!(!a.is(&described("i-1", 81, TargetHealthStateEnum::Healthy)));
        assert!(!a.is(&described("i-2", 80, TargetHealthStateEnum::Healthy)));
        assert!(!a.is(&described("i-1", 80, TargetHealthStateEnum::Draining)));
        let unregistered = TargetHealthDescription::builder()
            .target(TargetDescription::builder().id("i-1").port(80).build())
            .target_health(
                TargetHealth::builder()
                    .state(TargetHealthStateEnum::Unused)
                    .reason(TargetHealthReasonEnum::NotRegistered)
                    .build(),
            )
            .build();
        assert!(!a.is(&unregistered));
        // Registered without a port: listed with the group's.
        let any_port = Attachment::parse_id(&format!("{TG},i-1,,")).unwrap();
        assert!(any_port.is(&described("i-1", 8080, TargetHealthStateEnum::Initial)));
    }

    #[test]
    fn recorded_arguments_read_back_as_the_same_attributes() {
        let a = Attachment::parse_id(&format!("{TG},i-1,80,")).unwrap();
        let attrs = a.attrs();
        assert_eq!(
            Attachment::from_args(&attrs, "x").unwrap(),
            a,
            "{attrs:?}"
        );
        assert_eq!(attrs.get("availability_zone"), Some(&Value::Null));
    }
}
