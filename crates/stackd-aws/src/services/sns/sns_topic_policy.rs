//! `aws_sns_topic_policy`: the access policy of an SNS topic. Its ID is the
//! topic's ARN, as in Terraform (also the import ID).
//!
//! The policy compares by meaning, as Terraform compares it. A topic always
//! has a policy: deleting this resource puts back the default policy SNS
//! gives a new topic, as Terraform does. A topic of another stack (its
//! `stackd:` tags say so) is refused. A refresh calls `GetTopicAttributes`
//! per known topic (SNS has no batch read).

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{arn_account, refuse_other_stacks_topic, topic_attributes, SNS, TOPIC};
use crate::args::s;
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    decode_policy, ignore_gone, invalid, normalize_policy, read_each, read_policy_when, required,
    update_id, AwsResult,
};
use crate::policy::g;
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// `aws_sns_topic_policy`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_sns_topic_policy",
    schema,
    handler: &SnsTopicPolicy,
    grants: &[g(
        &[
            "sns:GetTopicAttributes",
            "sns:ListTagsForResource",
            "sns:SetTopicAttributes",
        ],
        &[TOPIC],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_sns_topic_policy")
        .doc("The access policy of an SNS topic.")
        .attr(
            AttrSchema::required("arn", AttrType::String)
                .force_new()
                .doc("The topic's ARN."),
        )
        .attr(
            AttrSchema::required("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The policy document (JSON)."),
        )
        .attr(AttrSchema::computed("owner", AttrType::String).doc("The topic owner's account ID."))
}

/// The policy SNS gives a new topic: the owning account may manage and
/// publish (the document Terraform restores on delete).
fn default_policy(topic_arn: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes",
                "SNS:SetTopicAttributes",
                "SNS:AddPermission",
                "SNS:RemovePermission",
                "SNS:DeleteTopic",
                "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic",
                "SNS:Publish"
            ],
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

/// The topic's policy; `None` when the topic is gone.
async fn read(aws: &Aws, topic_arn: &str) -> Result<Option<Value>, ProviderError> {
    Ok(topic_attributes(aws, topic_arn).await?.and_then(|a| {
        let policy = a.get("Policy")?;
        Some(Value::map([
            ("id", Value::from(topic_arn)),
            ("arn", Value::from(topic_arn)),
            ("policy", Value::from(decode_policy(policy))),
            ("owner", s(a.get("Owner").map(String::as_str))),
        ]))
    }))
}

async fn put(
    aws: &Aws,
    topic_arn: &str,
    policy: &str,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    // A principal created a moment ago may not be accepted yet.
    retry(deadline, || async {
        aws.sns
            .set_topic_attributes()
            .topic_arn(topic_arn)
            .attribute_name("Policy")
            .attribute_value(policy)
            .send()
            .await
            .aws(SNS, "SetTopicAttributes")
    })
    .await
    .map(|_| ())
}

/// Puts the desired policy and reads until SNS returns it.
async fn put_and_read(
    aws: &Aws,
    topic_arn: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let policy = required(d, "policy", SNS, "SetTopicAttributes")?;
    put(aws, topic_arn, policy, deadline).await?;
    read_policy_when(
        deadline,
        "GetTopicAttributes",
        &format!("the policy of topic {topic_arn} to apply"),
        d,
        || read(aws, topic_arn),
    )
    .await
}

pub(crate) struct SnsTopicPolicy;

#[async_trait]
impl ResourceHandler for SnsTopicPolicy {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        read_each(&req.known, |k| async move {
            Ok(read(aws, &k.id).await?.map(|attrs| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let topic_arn = required(&req.desired, "arn", SNS, "SetTopicAttributes")?;
        refuse_other_stacks_topic(aws, topic_arn, &req.owner, "SetTopicAttributes").await?;
        put_and_read(aws, topic_arn, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(topic_arn, e))
    }

    /// The topic, when its ARN is known now, must exist.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(topic_arn) = creating(req).and_then(|d| known_str(d, "arn")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "sns:GetTopicAttributes";
        let mut findings = Findings::new();
        if let Some(None) = findings.read(ACTION, read(aws, topic_arn).await)? {
            findings.missing(ACTION, "SNS topic", topic_arn, "");
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let topic_arn = update_id(req.id.as_deref(), SNS, "SetTopicAttributes")?;
        put_and_read(aws, topic_arn, &req.desired, &deadline).await
    }

    /// Puts back SNS's default policy (a topic cannot be without one).
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let owner = req
            .prior
            .get("owner")
            .and_then(Value::as_str)
            .filter(|o| !o.is_empty())
            .or_else(|| arn_account(&req.id))
            .ok_or_else(|| {
                invalid(
                    SNS,
                    "SetTopicAttributes",
                    format!("no account in topic ARN {:?}", req.id),
                )
            })?;
        // Sent once: a topic that is gone has no policy left to put back
        // (a retry would wait out its "not found").
        let answer = aws
            .sns
            .set_topic_attributes()
            .topic_arn(&req.id)
            .attribute_name("Policy")
            .attribute_value(default_policy(&req.id, owner))
            .send()
            .await
            .aws(SNS, "SetTopicAttributes")
            .map(|_| ());
        match answer {
            Err(e) if has_code(&e, "NotFound") => Ok(()),
            other => ignore_gone(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam_util::canonical_policy;

    #[test]
    fn the_default_policy_names_the_topic_and_its_owner() {
        let p = default_policy("arn:aws:sns:us-east-1:123456789012:t", "123456789012");
        let c = canonical_policy(&p).unwrap_or_default();
        assert!(c.contains("\"AWS:SourceOwner\":[\"123456789012\"]"), "{c}");
        assert!(c.contains("arn:aws:sns:us-east-1:123456789012:t"), "{c}");
    }
}
