//! `aws_iam_role`: an IAM role with its trust (assume role) policy.
//!
//! IAM has no batch read that returns tags, so a refresh reads each known
//! role with `GetRole`, [`crate::concurrent::MAX_CONCURRENT_READS`] at a time. Roles
//! are found by name only: IAM cannot list roles by tag without a call per
//! role, and a create that finds its name taken by a role carrying its own
//! ownership tags adopts it (crash safety).
//!
//! The deprecated `managed_policy_arns` and `inline_policy` blocks work as
//! the provider still makes them work: when set, they are the role's only
//! attached and inline policies (others are detached or deleted; an empty
//! list, or one empty `inline_policy {}`, removes them all), and they are
//! read (a call per role: no batch form) only for roles that use them.
//! They fight `aws_iam_role_policy_attachment` and `aws_iam_role_policy`
//! on the same role, as in Terraform.

use async_trait::async_trait;
use aws_sdk_iam::types::{Role, RoleDetail};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{account, INSTANCE_PROFILE, ROLE};
use crate::args::{blocks, bool_or, num, opt_int, opt_str, s, sort_blocks, str_list};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, conflict, decode_policy, echo, found, iam_date, iam_tag_map, iam_tags, ignore_gone,
    invalid, live_tags, name_or_generated, normalize_policy, ours, read_each, required, tags_attr,
    update_id, AwsResult, IAM,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{desired_tags, tag_changes};
use crate::wait::{retry, until, Deadline};

/// `aws_iam_role`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_iam_role",
    schema,
    handler: &IamRole,
    grants: &[
        g(
            &[
                "iam:AttachRolePolicy",
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePermissionsBoundary",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
            ],
            &[ROLE],
        ),
        // Many roles are read from the whole account at once.
        g(account::READ_ALL_ROLES, ANY),
        // Delete first takes the role out of its instance profiles.
        g(&["iam:RemoveRoleFromInstanceProfile"], &[INSTANCE_PROFILE]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_iam_role")
        .doc("An IAM role.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The role name; generated from `name_prefix` when unset."),
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
                .doc("The path of the role."),
        )
        .attr(
            AttrSchema::required("assume_role_policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The trust policy: who may assume the role."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("The role's description."))
        .attr(
            AttrSchema::optional("max_session_duration", AttrType::Number)
                .default(3600)
                .doc("Maximum session duration in seconds (3600 to 43200)."),
        )
        .attr(
            AttrSchema::optional("force_detach_policies", AttrType::Bool)
                .default(false)
                .doc("Detach managed and delete inline policies before deleting the role."),
        )
        .attr(
            AttrSchema::optional("permissions_boundary", AttrType::String)
                .doc("ARN of the policy that sets the role's permissions boundary."),
        )
        .attr(
            AttrSchema::optional_computed("managed_policy_arns", AttrType::set_of(AttrType::String))
                .deprecated("one aws_iam_role_policy_attachment per policy ARN")
                .doc("When set, the only managed policies attached (deprecated by the provider)."),
        )
        .block(
            BlockSchema::new("inline_policy", Nesting::Set)
                .deprecated("one aws_iam_role_policy per policy")
                .computed_when_absent()
                .attr(AttrSchema::optional("name", AttrType::String))
                .attr(AttrSchema::optional("policy", AttrType::Json).normalize(normalize_policy)),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The role's ARN."))
        .attr(AttrSchema::computed("unique_id", AttrType::String).doc("The stable unique ID."))
        .attr(
            AttrSchema::computed("create_date", AttrType::String).doc("Creation time (RFC 3339)."),
        )
        .taggable()
}

/// The role in schema shape. `args` supplies what IAM does not return
/// (`name_prefix`, `force_detach_policies`): the desired or recorded values.
pub(crate) fn role_attrs(role: &Role, args: Option<&Value>) -> Value {
    let policy = role
        .assume_role_policy_document()
        .map(decode_policy)
        .map(Value::String)
        .unwrap_or(Value::Null);
    Value::map([
        ("id", Value::from(role.role_name())),
        ("name", Value::from(role.role_name())),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("path", Value::from(role.path())),
        ("assume_role_policy", policy),
        ("description", s(role.description())),
        (
            "max_session_duration",
            num(role.max_session_duration().unwrap_or(3600)),
        ),
        (
            "force_detach_policies",
            echo(args, "force_detach_policies", Value::Bool(false)),
        ),
        (
            "permissions_boundary",
            s(role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())),
        ),
        // Read by `read_exclusive` for the roles that set them.
        ("managed_policy_arns", Value::Null),
        ("inline_policy", Value::Null),
        ("arn", Value::from(role.arn())),
        ("unique_id", Value::from(role.role_id())),
        ("create_date", iam_date(Some(role.create_date()))),
        ("tags_all", tags_attr(iam_tag_map(role.tags()))),
    ])
}

pub(crate) async fn get_role(aws: &Aws, name: &str) -> Result<Role, ProviderError> {
    let out = aws
        .iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .aws(IAM, "GetRole")?;
    out.role().cloned().ok_or_else(|| {
        invalid(
            IAM,
            "GetRole",
            format!("the answer for {name} carries no role"),
        )
    })
}

async fn create_role(
    aws: &Aws,
    name: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let policy = required(d, "assume_role_policy", IAM, "CreateRole")?;
    let call = aws
        .iam
        .create_role()
        .role_name(name)
        .path(opt_str(d, "path").unwrap_or("/"))
        .assume_role_policy_document(policy)
        .set_description(opt_str(d, "description").map(str::to_string))
        .set_max_session_duration(opt_int(d, "max_session_duration").map(|n| n as i32))
        .set_permissions_boundary(opt_str(d, "permissions_boundary").map(str::to_string))
        .set_tags(Some(iam_tags(&desired_tags(d), "CreateRole")?));
    // A principal created a moment ago may not be valid in a policy yet.
    retry(deadline, || async {
        call.clone().send().await.aws(IAM, "CreateRole")
    })
    .await
    .map(|_| ())
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
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(remove.clone()))
                .send()
                .await
                .aws(IAM, "UntagRole")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = iam_tags(&set, "TagRole")?;
        retry(deadline, || async {
            aws.iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .aws(IAM, "TagRole")
        })
        .await?;
    }
    Ok(())
}

/// Takes the role out of every instance profile, and with
/// `force_detach_policies` also detaches its managed policies and deletes
/// its inline ones, so that `DeleteRole` can succeed.
async fn release_role(aws: &Aws, name: &str, force_detach: bool) -> Result<(), ProviderError> {
    let profiles = aws
        .iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(IAM, "ListInstanceProfilesForRole")?;
    for p in profiles {
        ignore_gone(
            aws.iam
                .remove_role_from_instance_profile()
                .instance_profile_name(p.instance_profile_name())
                .role_name(name)
                .send()
                .await
                .aws(IAM, "RemoveRoleFromInstanceProfile"),
        )?;
    }
    if !force_detach {
        return Ok(());
    }
    let attached = aws
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(IAM, "ListAttachedRolePolicies")?;
    for p in attached {
        if let Some(arn) = p.policy_arn() {
            ignore_gone(
                aws.iam
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .aws(IAM, "DetachRolePolicy"),
            )?;
        }
    }
    let inline = aws
        .iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(IAM, "ListRolePolicies")?;
    for policy in inline {
        ignore_gone(
            aws.iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .aws(IAM, "DeleteRolePolicy"),
        )?;
    }
    Ok(())
}

/// True when `args` (the spec's or the recorded arguments) sets
/// `managed_policy_arns`.
fn uses_managed(args: &Value) -> bool {
    args.get("managed_policy_arns").is_some_and(|v| !v.is_null())
}

/// True when `args` has `inline_policy` blocks (an empty one included).
fn uses_inline(args: &Value) -> bool {
    args.get("inline_policy")
        .is_some_and(|v| matches!(v, Value::List(items) if !items.is_empty()))
}

/// The inline policies `args` asks for: named blocks only (an empty
/// `inline_policy {}` asks for none).
fn inline_wanted(args: &Value) -> Vec<(String, String)> {
    blocks(args, "inline_policy")
        .iter()
        .filter_map(|b| Some((opt_str(b, "name")?.to_string(), opt_str(b, "policy")?.to_string())))
        .collect()
}

async fn attached_arns(aws: &Aws, name: &str) -> Result<Vec<String>, ProviderError> {
    let attached = aws
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(IAM, "ListAttachedRolePolicies")?;
    Ok(attached
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

async fn inline_names(aws: &Aws, name: &str) -> Result<Vec<String>, ProviderError> {
    aws.iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(IAM, "ListRolePolicies")
}

/// [`read_exclusive`] from the account's role details.
fn exclusive_from_details(detail: &RoleDetail, args: &Value, attrs: &mut Value) {
    let Value::Map(m) = attrs else {
        return;
    };
    if uses_managed(args) {
        let mut arns: Vec<String> = detail
            .attached_managed_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        arns.sort();
        m.insert(
            "managed_policy_arns".into(),
            Value::List(arns.into_iter().map(Value::String).collect()),
        );
    }
    if uses_inline(args) {
        let items = detail
            .role_policy_list()
            .iter()
            .filter_map(|p| {
                Some(Value::map([
                    ("name", Value::from(p.policy_name()?)),
                    ("policy", Value::String(decode_policy(p.policy_document()?))),
                ]))
            })
            .collect();
        m.insert("inline_policy".into(), Value::List(sort_blocks(items)));
    }
}

/// The exclusive policy arguments as they are, read only where `args` uses
/// them (else left null: not managed by this resource).
async fn read_exclusive(
    aws: &Aws,
    name: &str,
    args: &Value,
    attrs: &mut Value,
) -> Result<(), ProviderError> {
    let Value::Map(m) = attrs else {
        return Ok(());
    };
    if uses_managed(args) {
        let mut arns = attached_arns(aws, name).await?;
        arns.sort();
        m.insert(
            "managed_policy_arns".into(),
            Value::List(arns.into_iter().map(Value::String).collect()),
        );
    }
    if uses_inline(args) {
        let mut items = Vec::new();
        for policy in inline_names(aws, name).await? {
            let out = aws
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await
                .aws(IAM, "GetRolePolicy")?;
            items.push(Value::map([
                ("name", Value::from(policy.as_str())),
                ("policy", Value::String(decode_policy(out.policy_document()))),
            ]));
        }
        m.insert("inline_policy".into(), Value::List(sort_blocks(items)));
    }
    Ok(())
}

/// Makes the attached and inline policies what `d` asks for, where it
/// asks (`managed` / `inline`: which of the two to bring in line).
async fn sync_exclusive(
    aws: &Aws,
    name: &str,
    d: &Value,
    managed: bool,
    inline: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if managed {
        let wanted = str_list(d, "managed_policy_arns");
        let have = attached_arns(aws, name).await?;
        for arn in have.iter().filter(|a| !wanted.contains(a)) {
            ignore_gone(
                aws.iam
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .aws(IAM, "DetachRolePolicy"),
            )?;
        }
        for arn in wanted.iter().filter(|a| !have.contains(a)) {
            // A policy created a moment ago may not be attachable yet.
            retry(deadline, || async {
                aws.iam
                    .attach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .aws(IAM, "AttachRolePolicy")
            })
            .await?;
        }
    }
    if inline {
        let wanted = inline_wanted(d);
        for policy in inline_names(aws, name).await? {
            if !wanted.iter().any(|(n, _)| *n == policy) {
                ignore_gone(
                    aws.iam
                        .delete_role_policy()
                        .role_name(name)
                        .policy_name(&policy)
                        .send()
                        .await
                        .aws(IAM, "DeleteRolePolicy"),
                )?;
            }
        }
        for (policy, document) in &wanted {
            retry(deadline, || async {
                aws.iam
                    .put_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .policy_document(document)
                    .send()
                    .await
                    .aws(IAM, "PutRolePolicy")
            })
            .await?;
        }
    }
    Ok(())
}

pub(crate) struct IamRole;

#[async_trait]
impl ResourceHandler for IamRole {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // Many roles: the whole account in two chains.
        if req.known.len() >= account::BATCH_FROM {
            let (roles, details) = account::roles_with_details(aws).await?;
            return Ok(req
                .known
                .iter()
                .filter_map(|k| {
                    let role = roles.get(&k.id)?;
                    let tags = iam_tag_map(role.tags());
                    let mut attrs = role_attrs(role, Some(&k.attrs));
                    if let Some(detail) = details.get(&k.id) {
                        exclusive_from_details(detail, &k.attrs, &mut attrs);
                    }
                    Some(LiveResource {
                        id: k.id.clone(),
                        address: address_of(&k.id, &tags, &req.known),
                        attrs,
                    })
                })
                .collect());
        }
        // A few: one GetRole per known role, bounded concurrency.
        read_each(&req.known, |k| async move {
            let Some(role) = found(get_role(aws, &k.id).await)? else {
                return Ok(None);
            };
            let tags = iam_tag_map(role.tags());
            let mut attrs = role_attrs(&role, Some(&k.attrs));
            found(read_exclusive(aws, &k.id, &k.attrs, &mut attrs).await)?;
            Ok(Some(LiveResource {
                id: k.id.clone(),
                address: address_of(&k.id, &tags, &req.known),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "stackd-");
        match create_role(aws, &name, d, &deadline).await {
            Ok(()) => {}
            Err(e) if has_code(&e, "EntityAlreadyExists") => {
                let role = get_role(aws, &name).await?;
                let live = iam_tag_map(role.tags());
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        IAM,
                        "CreateRole",
                        conflict("IAM role", &name, &live, &req.owner),
                    ));
                }
                tracing::info!(role = %name, "adopting the role an earlier attempt created");
            }
            Err(e) => return Err(e),
        }
        async {
            // IAM is eventually consistent: wait until the role reads back.
            let role = until(
                &deadline,
                "GetRole",
                &format!("role {name} to be readable"),
                || async { found(get_role(aws, &name).await) },
            )
            .await?;
            sync_exclusive(aws, &name, d, uses_managed(d), uses_inline(d), &deadline).await?;
            let mut attrs = role_attrs(&role, Some(d));
            read_exclusive(aws, &name, d, &mut attrs).await?;
            Ok(attrs)
        }
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// A role of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(name) = creating(req).and_then(|d| known_str(d, "name")) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(Some(role)) = findings.read("iam:GetRole", found(get_role(aws, name).await))? {
            let tags = iam_tag_map(role.tags());
            findings.name_in_use(req, "iam:GetRole", "IAM role", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), IAM, "UpdateRole")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("assume_role_policy") {
            let policy = required(d, "assume_role_policy", IAM, "UpdateAssumeRolePolicy")?;
            retry(&deadline, || async {
                aws.iam
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(policy)
                    .send()
                    .await
                    .aws(IAM, "UpdateAssumeRolePolicy")
            })
            .await?;
        }
        if changed("description") || changed("max_session_duration") {
            let call = aws
                .iam
                .update_role()
                .role_name(name)
                .description(opt_str(d, "description").unwrap_or(""))
                .set_max_session_duration(opt_int(d, "max_session_duration").map(|n| n as i32));
            retry(&deadline, || async {
                call.clone().send().await.aws(IAM, "UpdateRole")
            })
            .await?;
        }
        if changed("permissions_boundary") {
            match opt_str(d, "permissions_boundary") {
                Some(arn) => {
                    aws.iam
                        .put_role_permissions_boundary()
                        .role_name(name)
                        .permissions_boundary(arn)
                        .send()
                        .await
                        .aws(IAM, "PutRolePermissionsBoundary")?;
                }
                None => ignore_gone(
                    aws.iam
                        .delete_role_permissions_boundary()
                        .role_name(name)
                        .send()
                        .await
                        .aws(IAM, "DeleteRolePermissionsBoundary"),
                )?,
            }
        }
        sync_exclusive(
            aws,
            name,
            d,
            changed("managed_policy_arns") && uses_managed(d),
            changed("inline_policy") && uses_inline(d),
            &deadline,
        )
        .await?;
        reconcile_tags(aws, name, &prior, d, &deadline).await?;
        let role = get_role(aws, name).await?;
        let mut attrs = role_attrs(&role, Some(d));
        read_exclusive(aws, name, d, &mut attrs).await?;
        Ok(attrs)
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        // As the provider does: a role whose policies this resource sets
        // has them detached and deleted before it goes.
        let force = bool_or(&req.prior, "force_detach_policies", false)
            || uses_managed(&req.prior)
            || uses_inline(&req.prior);
        ignore_gone(release_role(aws, &req.id, force).await)?;
        // DeleteConflict (policies detached a moment ago still counted) is
        // transient; the engine retries.
        ignore_gone(
            aws.iam
                .delete_role()
                .role_name(&req.id)
                .send()
                .await
                .aws(IAM, "DeleteRole"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::types::{AttachedPermissionsBoundary, Tag};
    use aws_smithy_types::DateTime;

    fn role() -> Role {
        Role::builder()
            .role_name("app-exec")
            .path("/")
            .role_id("AROA123")
            .arn("arn:aws:iam::123456789012:role/app-exec")
            .create_date(DateTime::from_secs(1_700_000_000))
            .assume_role_policy_document(
                "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
            )
            .max_session_duration(7200)
            .permissions_boundary(
                AttachedPermissionsBoundary::builder()
                    .permissions_boundary_arn("arn:aws:iam::aws:policy/PowerUserAccess")
                    .build(),
            )
            .tags(
                Tag::builder()
                    .key("stackd:stack")
                    .value("s")
                    .build()
                    .unwrap(),
            )
            .tags(Tag::builder().key("aws:x").value("hidden").build().unwrap())
            .build()
            .unwrap()
    }

    #[test]
    fn live_role_is_in_schema_shape() {
        let args = Value::map([("force_detach_policies", Value::Bool(true))]);
        let v = role_attrs(&role(), Some(&args));
        assert_eq!(v.get("id"), Some(&Value::from("app-exec")));
        assert_eq!(
            v.get("assume_role_policy"),
            Some(&Value::from(r#"{"Version":"2012-10-17","Statement":[]}"#))
        );
        assert_eq!(v.get("max_session_duration"), Some(&Value::from(7200)));
        assert_eq!(v.get("force_detach_policies"), Some(&Value::Bool(true)));
        assert_eq!(v.get("description"), Some(&Value::Null));
        assert_eq!(
            v.get("create_date"),
            Some(&Value::from("2023-11-14T22:13:20Z"))
        );
        assert_eq!(
            v.get("tags_all"),
            Some(&Value::map([("stackd:stack", Value::from("s"))]))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn unrecorded_arguments_take_their_defaults() {
        let v = role_attrs(&role(), None);
        assert_eq!(v.get("force_detach_policies"), Some(&Value::Bool(false)));
        assert_eq!(v.get("name_prefix"), Some(&Value::Null));
    }

    #[test]
    fn trust_policies_compare_by_meaning() {
        let s = schema();
        let a = s.find_attr("assume_role_policy").unwrap();
        let n = a.normalize.unwrap().0;
        let written = Value::from(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",
                "Principal":{"Service":"ecs-tasks.amazonaws.com"}}]}"#,
        );
        let returned = Value::from(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C\
             %22Principal%22%3A%7B%22Service%22%3A%5B%22ecs-tasks.amazonaws.com%22%5D%7D%2C\
             %22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%7D%7D",
        );
        assert_eq!(n(&written), n(&returned));
    }
}
