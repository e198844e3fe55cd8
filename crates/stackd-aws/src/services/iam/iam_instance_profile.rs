//! `aws_iam_instance_profile`: the container that passes a role to EC2
//! instances. Its ID is its name.
//!
//! IAM has no batch read that returns tags: a refresh reads each known
//! profile with `GetInstanceProfile`, [`crate::concurrent::MAX_CONCURRENT_READS`] at
//! once.

use async_trait::async_trait;
use aws_sdk_iam::types::InstanceProfile;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::pass_role;
use super::{INSTANCE_PROFILE, ROLE};
use crate::args::opt_str;
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, conflict, echo, found, iam_date, iam_tag_map, iam_tags, ignore_gone, invalid,
    live_tags, name_or_generated, ours, read_each, tags_attr, update_id, AwsResult, IAM,
};
use crate::policy::g;
use crate::preflight::{creating, known_str, Findings};
use crate::services::iam::lookups::check_role_name;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{desired_tags, tag_changes};
use crate::wait::{retry, until, Deadline};

/// `aws_iam_instance_profile`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_iam_instance_profile",
    schema,
    handler: &IamInstanceProfile,
    grants: &[
        g(
            &[
                "iam:AddRoleToInstanceProfile",
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:UntagInstanceProfile",
            ],
            &[INSTANCE_PROFILE],
        ),
        // The role: looked up by `apply --dry-run`, passed on to EC2
        // by AddRoleToInstanceProfile.
        g(&["iam:GetRole"], &[ROLE]),
        pass_role(&["ec2.amazonaws.com"]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_iam_instance_profile")
        .retired("roles", "use role = ROLE_NAME (a profile holds one role)")
        .doc("An IAM instance profile.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The profile name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(
            AttrSchema::optional("path", AttrType::String)
                .default("/")
                .force_new()
                .doc("The path of the profile."),
        )
        .attr(AttrSchema::optional("role", AttrType::String).doc("The name of the role to pass."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The profile's ARN."))
        .attr(AttrSchema::computed("unique_id", AttrType::String).doc("The stable unique ID."))
        .attr(
            AttrSchema::computed("create_date", AttrType::String).doc("Creation time (RFC 3339)."),
        )
        .taggable()
}

fn profile_attrs(p: &InstanceProfile, args: Option<&Value>) -> Value {
    let role = p
        .roles()
        .first()
        .map(|r| Value::from(r.role_name()))
        .unwrap_or(Value::Null);
    Value::map([
        ("id", Value::from(p.instance_profile_name())),
        ("name", Value::from(p.instance_profile_name())),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("path", Value::from(p.path())),
        ("role", role),
        ("arn", Value::from(p.arn())),
        ("unique_id", Value::from(p.instance_profile_id())),
        ("create_date", iam_date(Some(p.create_date()))),
        ("tags_all", tags_attr(iam_tag_map(p.tags()))),
    ])
}

async fn get(aws: &Aws, name: &str) -> Result<InstanceProfile, ProviderError> {
    aws.iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .aws(IAM, "GetInstanceProfile")?
        .instance_profile
        .ok_or_else(|| {
            invalid(
                IAM,
                "GetInstanceProfile",
                format!("no profile in the answer for {name}"),
            )
        })
}

fn roles_of(p: &InstanceProfile) -> Vec<String> {
    p.roles()
        .iter()
        .map(|r| r.role_name().to_string())
        .collect()
}

/// Puts exactly `want` (or no role) into the profile.
async fn set_role(
    aws: &Aws,
    name: &str,
    current: &[String],
    want: Option<&str>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    for role in current.iter().filter(|r| Some(r.as_str()) != want) {
        ignore_gone(
            aws.iam
                .remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(role)
                .send()
                .await
                .aws(IAM, "RemoveRoleFromInstanceProfile"),
        )?;
    }
    if let Some(role) = want.filter(|w| !current.iter().any(|r| r == w)) {
        // A role created a moment ago may not be visible yet.
        let added = retry(deadline, || async {
            aws.iam
                .add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(role)
                .send()
                .await
                .aws(IAM, "AddRoleToInstanceProfile")
        })
        .await;
        match added {
            Ok(_) => {}
            // A profile holds one role: an attempt whose answer was lost
            // added it, and the resent call hits the quota. Done if the
            // role in the profile is the one asked for.
            Err(e)
                if crate::error::has_code(&e, "LimitExceeded")
                    && roles_of(&get(aws, name).await?) == [role] => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn reconcile_tags(
    aws: &Aws,
    name: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (set, remove) = tag_changes(&live_tags(prior), &desired_tags(desired));
    if !remove.is_empty() {
        retry(deadline, || async {
            aws.iam
                .untag_instance_profile()
                .instance_profile_name(name)
                .set_tag_keys(Some(remove.clone()))
                .send()
                .await
                .aws(IAM, "UntagInstanceProfile")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = iam_tags(&set, "TagInstanceProfile")?;
        retry(deadline, || async {
            aws.iam
                .tag_instance_profile()
                .instance_profile_name(name)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .aws(IAM, "TagInstanceProfile")
        })
        .await?;
    }
    Ok(())
}

pub(crate) struct IamInstanceProfile;

#[async_trait]
impl ResourceHandler for IamInstanceProfile {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // No batch read: one GetInstanceProfile per known profile.
        read_each(&req.known, |k| async move {
            let p = found(get(aws, &k.id).await)?;
            Ok(p.map(|p| LiveResource {
                id: k.id.clone(),
                address: address_of(&k.id, &iam_tag_map(p.tags()), &req.known),
                attrs: profile_attrs(&p, Some(&k.attrs)),
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "stackd-");
        let call = aws
            .iam
            .create_instance_profile()
            .instance_profile_name(&name)
            .path(opt_str(d, "path").unwrap_or("/"))
            .set_tags(Some(iam_tags(&desired_tags(d), "CreateInstanceProfile")?));
        let created = retry(&deadline, || async {
            call.clone().send().await.aws(IAM, "CreateInstanceProfile")
        })
        .await;
        let current = match created {
            Ok(_) => Vec::new(),
            Err(e) if has_code(&e, "EntityAlreadyExists") => {
                let existing = get(aws, &name).await?;
                let live = iam_tag_map(existing.tags());
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        IAM,
                        "CreateInstanceProfile",
                        conflict("IAM instance profile", &name, &live, &req.owner),
                    ));
                }
                tracing::info!(profile = %name, "adopting the profile an earlier attempt created");
                roles_of(&existing)
            }
            Err(e) => return Err(e),
        };
        async {
            set_role(aws, &name, &current, opt_str(d, "role"), &deadline).await?;
            until(
                &deadline,
                "GetInstanceProfile",
                &format!("instance profile {name} to be readable"),
                || async { Ok(found(get(aws, &name).await)?.map(|p| profile_attrs(&p, Some(d)))) },
            )
            .await
        }
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// A profile of the same (known) name is looked up, and the role it
    /// is to hold.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(name) = known_str(d, "name") {
            const ACTION: &str = "iam:GetInstanceProfile";
            if let Some(Some(p)) = findings.read(ACTION, found(get(aws, name).await))? {
                let tags = iam_tag_map(p.tags());
                findings.name_in_use(req, ACTION, "IAM instance profile", name, &tags);
            }
        }
        // A role this plan creates does not exist yet.
        if let Some(role) = known_str(d, "role").filter(|r| !req.plans("aws_iam_role", "name", r)) {
            check_role_name(aws, &mut findings, role).await?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), IAM, "AddRoleToInstanceProfile")?;
        let d = &req.desired;
        let current = roles_of(&get(aws, name).await?);
        set_role(aws, name, &current, opt_str(d, "role"), &deadline).await?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        reconcile_tags(aws, name, &prior, d, &deadline).await?;
        Ok(profile_attrs(&get(aws, name).await?, Some(d)))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let Some(p) = found(get(aws, &req.id).await)? else {
            return Ok(());
        };
        let deadline = Deadline::after(req.timeout);
        set_role(aws, &req.id, &roles_of(&p), None, &deadline).await?;
        ignore_gone(
            aws.iam
                .delete_instance_profile()
                .instance_profile_name(&req.id)
                .send()
                .await
                .aws(IAM, "DeleteInstanceProfile"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::types::Role;
    use aws_smithy_types::DateTime;

    #[test]
    fn live_profile_is_in_schema_shape() {
        let role = Role::builder()
            .role_name("bastion")
            .path("/")
            .role_id("AROA1")
            .arn("arn:aws:iam::1:role/bastion")
            .create_date(DateTime::from_secs(0))
            .build()
            .unwrap();
        let p = InstanceProfile::builder()
            .instance_profile_name("bastion")
            .instance_profile_id("AIPA1")
            .path("/")
            .arn("arn:aws:iam::1:instance-profile/bastion")
            .create_date(DateTime::from_secs(0))
            .roles(role)
            .build()
            .unwrap();
        let v = profile_attrs(&p, None);
        assert_eq!(v.get("role"), Some(&Value::from("bastion")));
        assert_eq!(v.get("unique_id"), Some(&Value::from("AIPA1")));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
