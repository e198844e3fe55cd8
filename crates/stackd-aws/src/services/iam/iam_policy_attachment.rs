//! `aws_iam_policy_attachment`: every attachment of one managed policy, to
//! the users, roles and groups listed. Its ID is `name`, as in Terraform
//! (which imports none of these: neither does stackd).
//!
//! **Exclusive**, as the Terraform provider warns: the resource owns every
//! attachment of its policy in the account. A refresh reads all of them
//! (`ListEntitiesForPolicy`), so an attachment made elsewhere (another
//! `aws_iam_role_policy_attachment`, the console) shows in the plan as a
//! user, role or group to remove, and the next apply detaches it. The
//! dry-run check warns at create time about attachments already there that
//! a later apply would take away. Prefer `aws_iam_role_policy_attachment`
//! unless this is wanted. A policy attached to nobody reads as gone (as in
//! Terraform), so it is attached again.
//!
//! IAM has no batch read: `ListEntitiesForPolicy` is called once per
//! distinct policy, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{AWS_MANAGED_POLICY, GROUP, IAM_POLICY, ROLE, USER};
use crate::args::{opt_str, set_or_null, str_list};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{bounded_all, found, ignore_gone, invalid, required, AwsResult, IAM};
use crate::policy::g;
use crate::preflight::{creating, is_known, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_iam_policy_attachment`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_iam_policy_attachment",
    schema,
    handler: &IamPolicyAttachment,
    grants: &[
        g(
            &["iam:ListEntitiesForPolicy"],
            &[IAM_POLICY, AWS_MANAGED_POLICY],
        ),
        g(&["iam:AttachRolePolicy", "iam:DetachRolePolicy"], &[ROLE]),
        g(&["iam:AttachUserPolicy", "iam:DetachUserPolicy"], &[USER]),
        g(&["iam:AttachGroupPolicy", "iam:DetachGroupPolicy"], &[GROUP]),
    ],
    source: file!(),
};

/// The three kinds of principal, as the arguments name them.
const KINDS: [Kind; 3] = [Kind::Users, Kind::Roles, Kind::Groups];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Users,
    Roles,
    Groups,
}

impl Kind {
    fn argument(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Roles => "roles",
            Kind::Groups => "groups",
        }
    }
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_iam_policy_attachment")
        .doc(
            "Every attachment of a managed IAM policy (exclusive: attachments of the policy \
             not listed here are detached).",
        )
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("A name for the attachment (its ID)."),
        )
        .attr(
            AttrSchema::required("policy_arn", AttrType::String)
                .force_new()
                .doc("The ARN of the policy."),
        )
        .attr(
            AttrSchema::optional("users", AttrType::set_of(AttrType::String))
                .doc("The users the policy is attached to; any other is detached."),
        )
        .attr(
            AttrSchema::optional("roles", AttrType::set_of(AttrType::String))
                .doc("The roles the policy is attached to; any other is detached."),
        )
        .attr(
            AttrSchema::optional("groups", AttrType::set_of(AttrType::String))
                .doc("The groups the policy is attached to; any other is detached."),
        )
}

/// The principals a policy is attached to, by kind.
type Entities = BTreeMap<Kind, BTreeSet<String>>;

/// What the policy is attached to; `None` when the policy is gone.
async fn entities(aws: &Aws, policy_arn: &str) -> Result<Option<Entities>, ProviderError> {
    let pages = found(
        aws.iam
            .list_entities_for_policy()
            .policy_arn(policy_arn)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(IAM, "ListEntitiesForPolicy"),
    )?;
    Ok(pages.map(|pages| {
        let mut out = Entities::new();
        for p in pages {
            let users = p.policy_users().iter().filter_map(|u| u.user_name());
            out.entry(Kind::Users)
                .or_default()
                .extend(users.map(str::to_string));
            let roles = p.policy_roles().iter().filter_map(|r| r.role_name());
            out.entry(Kind::Roles)
                .or_default()
                .extend(roles.map(str::to_string));
            let groups = p.policy_groups().iter().filter_map(|g| g.group_name());
            out.entry(Kind::Groups)
                .or_default()
                .extend(groups.map(str::to_string));
        }
        out
    }))
}

fn is_attached_to_nobody(e: &Entities) -> bool {
    e.values().all(BTreeSet::is_empty)
}

fn attachment_attrs(name: &str, policy_arn: &str, e: &Entities) -> Value {
    let list = |k: Kind| set_or_null(e.get(&k).into_iter().flatten().cloned().collect());
    Value::map([
        ("id", Value::from(name)),
        ("name", Value::from(name)),
        ("policy_arn", Value::from(policy_arn)),
        ("users", list(Kind::Users)),
        ("roles", list(Kind::Roles)),
        ("groups", list(Kind::Groups)),
    ])
}

/// The principals an argument value lists, by kind.
fn listed(v: &Value) -> Entities {
    KINDS
        .iter()
        .map(|k| (*k, str_list(v, k.argument()).into_iter().collect()))
        .collect()
}

/// One principal of one kind.
type Principal = (Kind, String);

/// What to attach and what to detach to go from `live` to `desired`.
fn changes(live: &Entities, desired: &Entities) -> (Vec<Principal>, Vec<Principal>) {
    let mut attach = Vec::new();
    let mut detach = Vec::new();
    for k in KINDS {
        let empty = BTreeSet::new();
        let have = live.get(&k).unwrap_or(&empty);
        let want = desired.get(&k).unwrap_or(&empty);
        attach.extend(want.difference(have).map(|n| (k, n.clone())));
        detach.extend(have.difference(want).map(|n| (k, n.clone())));
    }
    (attach, detach)
}

async fn attach(aws: &Aws, arn: &str, kind: Kind, name: &str) -> Result<(), ProviderError> {
    match kind {
        Kind::Users => aws
            .iam
            .attach_user_policy()
            .user_name(name)
            .policy_arn(arn)
            .send()
            .await
            .aws(IAM, "AttachUserPolicy")
            .map(|_| ()),
        Kind::Roles => aws
            .iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .aws(IAM, "AttachRolePolicy")
            .map(|_| ()),
        Kind::Groups => aws
            .iam
            .attach_group_policy()
            .group_name(name)
            .policy_arn(arn)
            .send()
            .await
            .aws(IAM, "AttachGroupPolicy")
            .map(|_| ()),
    }
}

async fn detach(aws: &Aws, arn: &str, kind: Kind, name: &str) -> Result<(), ProviderError> {
    let sent = match kind {
        Kind::Users => aws
            .iam
            .detach_user_policy()
            .user_name(name)
            .policy_arn(arn)
            .send()
            .await
            .aws(IAM, "DetachUserPolicy")
            .map(|_| ()),
        Kind::Roles => aws
            .iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .aws(IAM, "DetachRolePolicy")
            .map(|_| ()),
        Kind::Groups => aws
            .iam
            .detach_group_policy()
            .group_name(name)
            .policy_arn(arn)
            .send()
            .await
            .aws(IAM, "DetachGroupPolicy")
            .map(|_| ()),
    };
    ignore_gone(sent)
}

/// Attaches and detaches until the policy's attachments are `desired`,
/// and reads them back.
async fn reconcile(
    aws: &Aws,
    name: &str,
    arn: &str,
    live: &Entities,
    desired: &Entities,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let (to_attach, to_detach) = changes(live, desired);
    for (kind, principal) in &to_attach {
        // A principal or policy created a moment ago may not be visible yet.
        retry(deadline, || attach(aws, arn, *kind, principal)).await?;
    }
    for (kind, principal) in &to_detach {
        detach(aws, arn, *kind, principal).await?;
    }
    until(
        deadline,
        "ListEntitiesForPolicy",
        &format!("the attachments of {arn} to read back"),
        || async {
            let now = entities(aws, arn).await?.unwrap_or_default();
            let (missing, extra) = changes(&now, desired);
            let done = missing.is_empty() && extra.iter().all(|e| !to_detach.contains(e));
            Ok(done.then(|| attachment_attrs(name, arn, &now)))
        },
    )
    .await
}

pub(crate) struct IamPolicyAttachment;

#[async_trait]
impl ResourceHandler for IamPolicyAttachment {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let arns: BTreeSet<&str> = req
            .known
            .iter()
            .filter_map(|k| opt_str(&k.attrs, "policy_arn"))
            .collect();
        let arns: Vec<&str> = arns.into_iter().collect();
        // No batch form: one ListEntitiesForPolicy chain per policy.
        let reads = bounded_all(arns.iter().map(|arn| entities(aws, arn))).await;
        let mut by_policy = BTreeMap::new();
        for (arn, read) in arns.iter().zip(reads) {
            if let Some(e) = read? {
                by_policy.insert(*arn, e);
            }
        }
        Ok(req
            .known
            .iter()
            .filter_map(|k| {
                let arn = opt_str(&k.attrs, "policy_arn")?;
                let e = by_policy.get(arn).filter(|e| !is_attached_to_nobody(e))?;
                Some(LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs: attachment_attrs(&k.id, arn, e),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", IAM, "AttachRolePolicy")?;
        let arn = required(d, "policy_arn", IAM, "AttachRolePolicy")?;
        let desired = listed(d);
        if is_attached_to_nobody(&desired) {
            return Err(invalid(
                IAM,
                "AttachRolePolicy",
                "at least one of users, roles and groups must be given",
            ));
        }
        // As in Terraform, a create only attaches: attachments made
        // elsewhere are read back, and the next plan shows them going.
        let live = entities(aws, arn).await?.unwrap_or_default();
        let mut keep = desired.clone();
        for (k, names) in &live {
            keep.entry(*k).or_default().extend(names.iter().cloned());
        }
        reconcile(aws, name, arn, &live, &keep, &deadline)
            .await
            .map_err(|e| after_create(name, e))
    }

    /// Attachments of the policy that the spec does not list: a later
    /// apply detaches them (the resource is exclusive).
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(arn) = known_str(d, "policy_arn") else {
            return Ok(Vec::new());
        };
        if !KINDS.iter().all(|k| is_known(d, k.argument())) {
            return Ok(Vec::new());
        }
        const ACTION: &str = "iam:ListEntitiesForPolicy";
        let mut findings = Findings::new();
        if let Some(Some(live)) = findings.read(ACTION, entities(aws, arn).await)? {
            let (_, others) = changes(&live, &listed(d));
            if !others.is_empty() {
                let names: Vec<String> = others
                    .iter()
                    .map(|(k, n)| format!("{} {n}", k.argument().trim_end_matches('s')))
                    .collect();
                findings.push(Finding::warning(
                    "exclusive_attachment",
                    ACTION,
                    format!(
                        "{arn} is also attached to {}: aws_iam_policy_attachment owns every \
                         attachment of its policy, so the next apply after this one detaches \
                         them (list them here, or use aws_iam_role_policy_attachment)",
                        names.join(", ")
                    ),
                ));
            }
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", IAM, "AttachRolePolicy")?;
        let arn = required(d, "policy_arn", IAM, "AttachRolePolicy")?;
        // The live attachments, not the recorded ones: whatever is not
        // listed goes.
        let live = entities(aws, arn).await?.unwrap_or_default();
        reconcile(aws, name, arn, &live, &listed(d), &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        // As Terraform does: the recorded attachments are detached.
        let Some(arn) = opt_str(&req.prior, "policy_arn") else {
            return Ok(());
        };
        for k in KINDS {
            for principal in str_list(&req.prior, k.argument()) {
                detach(aws, arn, k, &principal).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(users: &[&str], roles: &[&str]) -> Entities {
        let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        Entities::from([
            (Kind::Users, set(users)),
            (Kind::Roles, set(roles)),
            (Kind::Groups, BTreeSet::new()),
        ])
    }

    #[test]
    fn attachments_not_listed_are_detached() {
        let (attach, detach) = changes(&e(&["ann"], &["app", "other"]), &e(&[], &["app", "new"]));
        assert_eq!(attach, vec![(Kind::Roles, "new".to_string())]);
        assert_eq!(
            detach,
            vec![
                (Kind::Users, "ann".to_string()),
                (Kind::Roles, "other".to_string())
            ]
        );
    }

    #[test]
    fn live_attachment_is_in_schema_shape() {
        let v = attachment_attrs("ro", "arn:aws:iam::aws:policy/ReadOnlyAccess", &e(&[], &["a"]));
        assert_eq!(v.get("roles"), Some(&Value::List(vec![Value::from("a")])));
        assert_eq!(v.get("users"), Some(&Value::Null));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
        assert_eq!(listed(&v), e(&[], &["a"]));
        assert!(is_attached_to_nobody(&e(&[], &[])));
    }
}
