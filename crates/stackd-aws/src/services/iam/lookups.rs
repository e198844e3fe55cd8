//! Dry-run look-ups of IAM roles and instance profiles a spec refers to.

use stackd_engine::provider::{CheckRequest, ErrorKind, ProviderError};

use crate::context::Aws;
use crate::iam_util::{AwsResult, IAM};
use crate::preflight::Findings;

/// The role name and account of an IAM role ARN
/// (`arn:<partition>:iam::<account>:role/<path>/<name>`).
pub(crate) fn role_arn_parts(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "iam" {
        return None;
    }
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    (!name.is_empty()).then_some((name, account))
}

/// Reports a role (by name) that does not exist; returns its ARN when it
/// does.
async fn role_exists(
    aws: &Aws,
    findings: &mut Findings,
    name: &str,
    shown_as: &str,
) -> Result<Option<String>, ProviderError> {
    const ACTION: &str = "iam:GetRole";
    match aws
        .iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .aws(IAM, "GetRole")
    {
        Err(e) if e.kind == ErrorKind::NotFound => {
            findings.missing(ACTION, "IAM role", shown_as, "");
            Ok(None)
        }
        other => Ok(findings
            .read(ACTION, other)?
            .and_then(|out| out.role().map(|r| r.arn().to_string()))),
    }
}

/// Reports an IAM role, referenced by ARN, that does not exist. A role of
/// another account cannot be looked up and is not checked; neither is a
/// value that is not a role ARN (the create reports that), nor a role the
/// same plan creates (an ARN written out by hand from its name).
pub(crate) async fn check_role_arn(
    aws: &Aws,
    req: &CheckRequest,
    findings: &mut Findings,
    arn: &str,
) -> Result<(), ProviderError> {
    let Some((name, account)) = role_arn_parts(arn) else {
        return Ok(());
    };
    if req.plans("aws_iam_role", "name", name) {
        return Ok(());
    }
    if !account.is_empty() && account != aws.account_id().await? {
        return Ok(());
    }
    if let Some(live) = role_exists(aws, findings, name, arn).await? {
        if live != arn {
            // A role of that name exists under another path.
            findings.missing(
                "iam:GetRole",
                "IAM role",
                arn,
                &format!(" (the role named {name:?} is {live})"),
            );
        }
    }
    Ok(())
}

/// Reports an IAM role, referenced by name, that does not exist.
pub(crate) async fn check_role_name(
    aws: &Aws,
    findings: &mut Findings,
    name: &str,
) -> Result<(), ProviderError> {
    role_exists(aws, findings, name, name).await.map(|_| ())
}

/// Reports an IAM instance profile, referenced by name, that does not exist.
pub(crate) async fn check_instance_profile(
    aws: &Aws,
    findings: &mut Findings,
    name: &str,
) -> Result<(), ProviderError> {
    const ACTION: &str = "iam:GetInstanceProfile";
    match aws
        .iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .aws(IAM, "GetInstanceProfile")
    {
        Err(e) if e.kind == ErrorKind::NotFound => {
            findings.missing(ACTION, "IAM instance profile", name, "");
            Ok(())
        }
        other => findings.read(ACTION, other).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_give_name_and_account() {
        assert_eq!(
            role_arn_parts("arn:aws:iam::123456789012:role/ecs/task-exec"),
            Some(("task-exec", "123456789012"))
        );
        assert_eq!(
            role_arn_parts("arn:aws-cn:iam::1:role/app"),
            Some(("app", "1"))
        );
        assert_eq!(role_arn_parts("arn:aws:iam::1:policy/app"), None);
        assert_eq!(role_arn_parts("arn:aws:s3:::bucket"), None);
        assert_eq!(role_arn_parts("app-role"), None);
    }
}
