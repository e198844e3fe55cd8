//! `aws_sqs_queue_policy`: the access policy of an SQS queue. Its ID is the
//! queue URL, as in Terraform (also the import ID).
//!
//! The policy compares by meaning, as Terraform compares it; deleting this
//! resource clears the queue's `Policy` attribute. A queue of another stack
//! (its `stackd:` tags say so) is refused. A refresh calls
//! `GetQueueAttributes` per known queue (SQS has no batch read).

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{queue_attributes, refuse_other_stacks_queue, QUEUE, SQS};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    decode_policy, ignore_gone, normalize_policy, read_each, read_policy_when, required,
    update_id, AwsResult,
};
use crate::policy::g;
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// `aws_sqs_queue_policy`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_sqs_queue_policy",
    schema,
    handler: &SqsQueuePolicy,
    grants: &[g(
        &[
            "sqs:GetQueueAttributes",
            "sqs:ListQueueTags",
            "sqs:SetQueueAttributes",
        ],
        &[QUEUE],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_sqs_queue_policy")
        .doc("The access policy of an SQS queue.")
        .attr(
            AttrSchema::required("queue_url", AttrType::String)
                .force_new()
                .doc("The queue's URL."),
        )
        .attr(
            AttrSchema::required("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The policy document (JSON)."),
        )
}

/// The queue's policy; `None` when it has none or the queue is gone.
async fn read(aws: &Aws, url: &str) -> Result<Option<Value>, ProviderError> {
    Ok(queue_attributes(aws, url).await?.and_then(|a| {
        let policy = a.get("Policy").filter(|p| !p.is_empty())?;
        Some(Value::map([
            ("id", Value::from(url)),
            ("queue_url", Value::from(url)),
            ("policy", Value::from(decode_policy(policy))),
        ]))
    }))
}

async fn put(aws: &Aws, url: &str, policy: &str, deadline: &Deadline) -> Result<(), ProviderError> {
    // A principal created a moment ago may not be accepted yet.
    retry(deadline, || async {
        aws.sqs
            .set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::Policy, policy)
            .send()
            .await
            .aws(SQS, "SetQueueAttributes")
    })
    .await
    .map(|_| ())
}

/// Puts the desired policy and reads until SQS returns it (attribute
/// changes reach SQS's readers with a delay).
async fn put_and_read(
    aws: &Aws,
    url: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let policy = required(d, "policy", SQS, "SetQueueAttributes")?;
    put(aws, url, policy, deadline).await?;
    read_policy_when(
        deadline,
        "GetQueueAttributes",
        &format!("the policy of queue {url} to apply"),
        d,
        || read(aws, url),
    )
    .await
}

pub(crate) struct SqsQueuePolicy;

#[async_trait]
impl ResourceHandler for SqsQueuePolicy {
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
        let url = required(&req.desired, "queue_url", SQS, "SetQueueAttributes")?;
        refuse_other_stacks_queue(aws, url, &req.owner, "SetQueueAttributes").await?;
        put_and_read(aws, url, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(url, e))
    }

    /// The queue, when its URL is known now, must exist.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(url) = creating(req).and_then(|d| known_str(d, "queue_url")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "sqs:GetQueueAttributes";
        let mut findings = Findings::new();
        if let Some(None) = findings.read(ACTION, queue_attributes(aws, url).await)? {
            findings.missing(ACTION, "SQS queue", url, "");
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let url = update_id(req.id.as_deref(), SQS, "SetQueueAttributes")?;
        put_and_read(aws, url, &req.desired, &deadline).await
    }

    /// Clears the queue's policy, as Terraform does.
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        // Sent once, not retried: a queue that does not exist has no
        // policy left to remove (a retry would wait out its "not found").
        let answer = aws
            .sqs
            .set_queue_attributes()
            .queue_url(&req.id)
            .attributes(QueueAttributeName::Policy, "")
            .send()
            .await
            .aws(SQS, "SetQueueAttributes")
            .map(|_| ());
        match answer {
            // "Does not exist" on a write is taken for a queue not visible
            // yet elsewhere; here it means the queue went first.
            Err(e)
                if has_code(&e, "QueueDoesNotExist")
                    || has_code(&e, "AWS.SimpleQueueService.NonExistentQueue") =>
            {
                Ok(())
            }
            other => ignore_gone(other),
        }
    }
}
