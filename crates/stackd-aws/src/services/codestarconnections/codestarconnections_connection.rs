//! `aws_codestarconnections_connection`: a connection to a source provider
//! (GitHub, Bitbucket, GitLab, or a self-managed host), which its owner
//! completes in the console (`connection_status` stays `PENDING` until
//! then). The ID is the connection's ARN, as with the Terraform provider
//! (also the import ID). Every argument forces replacement; tags change in
//! place.
//!
//! A refresh lists every connection with one `ListConnections` chain; the
//! tags of each known connection are read with `ListTagsForResource`, one
//! resource a call (the service has no batch form). A create first looks
//! for a connection of the same name: one this address made (its tags say
//! so) is adopted, any other is refused.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_codestarconnections::types::{Connection, ProviderType, Tag};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{CODESTAR, CONNECTION};
use crate::args::{opt_str, req_str, s, str_map};
use crate::context::Aws;
use crate::error::ignore_not_found;
use crate::iam_util::{conflict, found, gone, invalid, ours, tags_attr, AwsResult};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, tag_changes};

/// `aws_codestarconnections_connection`: its schema, its handler, and the
/// IAM grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_codestarconnections_connection",
    schema,
    handler: &CodestarConnection,
    grants: &[
        // ListConnections takes no resource-level permissions.
        g(&["codestar-connections:ListConnections"], ANY),
        g(
            &[
                "codestar-connections:CreateConnection",
                "codestar-connections:DeleteConnection",
                "codestar-connections:ListTagsForResource",
                "codestar-connections:TagResource",
                "codestar-connections:UntagResource",
            ],
            &[CONNECTION],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_codestarconnections_connection")
        .doc("A CodeStar connection to a source provider.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The connection's name (at most 32 characters)."),
        )
        .attr(
            AttrSchema::optional_computed("provider_type", AttrType::String)
                .force_new()
                .check(Check::OneOf(ProviderType::values().to_vec()))
                .doc("Bitbucket, GitHub, GitHubEnterpriseServer, GitLab or GitLabSelfManaged; or give `host_arn`."),
        )
        .attr(
            AttrSchema::optional("host_arn", AttrType::String)
                .force_new()
                .doc("The host of a self-managed provider."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(
            AttrSchema::computed("connection_status", AttrType::String)
                .doc("PENDING until completed in the console, then AVAILABLE."),
        )
        .attr(AttrSchema::computed("owner_account_id", AttrType::String))
        .taggable()
}

fn connection_attrs(c: &Connection, tags: &BTreeMap<String, String>) -> Value {
    Value::map([
        ("id", s(c.connection_arn())),
        ("arn", s(c.connection_arn())),
        ("name", s(c.connection_name())),
        ("provider_type", s(c.provider_type().map(ProviderType::as_str))),
        ("host_arn", s(c.host_arn())),
        (
            "connection_status",
            s(c.connection_status().map(|st| st.as_str())),
        ),
        ("owner_account_id", s(c.owner_account_id())),
        ("tags_all", tags_attr(tags)),
    ])
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(CODESTAR, "CreateConnection", format!("tags: {e}")))
}

/// Every connection (one `ListConnections` chain).
async fn list_all(aws: &Aws) -> Result<Vec<Connection>, ProviderError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .codestarconnections
            .list_connections()
            .set_next_token(token.clone())
            .send()
            .await
            .aws(CODESTAR, "ListConnections")?;
        out.extend(page.connections().iter().cloned());
        match page.next_token() {
            Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                token = Some(next.to_string())
            }
            _ => return Ok(out),
        }
    }
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .codestarconnections
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(CODESTAR, "ListTagsForResource")?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// One connection with its tags, by ARN or by name.
async fn read(
    aws: &Aws,
    matches: impl Fn(&Connection) -> bool,
) -> Result<Option<Value>, ProviderError> {
    let Some(c) = list_all(aws).await?.into_iter().find(|c| matches(c)) else {
        return Ok(None);
    };
    let arn = c.connection_arn().unwrap_or_default();
    Ok(found(tags_of(aws, arn).await)?.map(|tags| connection_attrs(&c, &tags)))
}

pub(crate) struct CodestarConnection;

#[async_trait]
impl ResourceHandler for CodestarConnection {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.is_empty() {
            return Ok(Vec::new());
        }
        let all = list_all(aws).await?;
        let known: Vec<_> = req
            .known
            .iter()
            .filter_map(|k| {
                let c = all.iter().find(|c| c.connection_arn() == Some(k.id.as_str()))?;
                Some((k, c))
            })
            .collect();
        let reads = crate::concurrent::bounded_all(known.iter().map(|(k, _)| async move {
            found(tags_of(aws, &k.id).await)
        }))
        .await;
        let mut out = Vec::new();
        for ((k, c), tags) in known.into_iter().zip(reads) {
            if let Some(tags) = tags? {
                out.push(LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs: connection_attrs(c, &tags),
                });
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let d = &req.desired;
        let name = req_str(d, "name", "CreateConnection")?;
        if let Some(existing) = read(aws, |c| c.connection_name() == Some(name)).await? {
            let live = str_map(&existing, "tags_all");
            if ours(&live, &req.owner, &req.address) {
                tracing::info!(name, "adopting the connection an earlier attempt created");
                return Ok(existing);
            }
            return Err(invalid(
                CODESTAR,
                "CreateConnection",
                conflict("CodeStar connection", name, &live, &req.owner),
            ));
        }
        let tags = sdk_tags(&desired_tags(d))?;
        let out = aws
            .codestarconnections
            .create_connection()
            .connection_name(name)
            .set_provider_type(opt_str(d, "provider_type").map(ProviderType::from))
            .set_host_arn(opt_str(d, "host_arn").map(str::to_string))
            .set_tags(Some(tags).filter(|t| !t.is_empty()))
            .send()
            .await
            .aws(CODESTAR, "CreateConnection")?;
        let arn = out.connection_arn().to_string();
        read(aws, |c| c.connection_arn() == Some(arn.as_str()))
            .await?
            .ok_or_else(|| gone(CODESTAR, "ListConnections", &arn))
    }

    /// A connection of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(name) = creating(req).and_then(|d| known_str(d, "name")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "codestar-connections:ListConnections";
        let mut findings = Findings::new();
        let existing = read(aws, |c| c.connection_name() == Some(name)).await;
        if let Some(Some(attrs)) = findings.read(ACTION, existing)? {
            let tags = str_map(&attrs, "tags_all");
            findings.name_in_use(req, ACTION, "CodeStar connection", name, &tags);
        }
        Ok(findings.into_vec())
    }

    /// Only tags change in place.
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let arn = req
            .id
            .clone()
            .ok_or_else(|| invalid(CODESTAR, "TagResource", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let (set, remove) = tag_changes(&str_map(&prior, "tags_all"), &desired_tags(&req.desired));
        if !remove.is_empty() {
            aws.codestarconnections
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .aws(CODESTAR, "UntagResource")?;
        }
        if !set.is_empty() {
            aws.codestarconnections
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(sdk_tags(&set)?))
                .send()
                .await
                .aws(CODESTAR, "TagResource")?;
        }
        read(aws, |c| c.connection_arn() == Some(arn.as_str()))
            .await?
            .ok_or_else(|| gone(CODESTAR, "ListConnections", &arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_not_found(
            aws.codestarconnections
                .delete_connection()
                .connection_arn(&req.id)
                .send()
                .await
                .aws(CODESTAR, "DeleteConnection")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codestarconnections::types::ConnectionStatus;
    use stackd_engine::diff::{diff, IgnoreChanges};

    #[test]
    fn a_pending_connection_reads_back_as_its_arguments() {
        let c = Connection::builder()
            .connection_name("github")
            .connection_arn("arn:aws:codestar-connections:us-east-1:1:connection/abc")
            .provider_type(ProviderType::Github)
            .connection_status(ConnectionStatus::Pending)
            .owner_account_id("1")
            .build();
        let tags = BTreeMap::from([("Team".to_string(), "web".to_string())]);
        let live = connection_attrs(&c, &tags);
        assert_eq!(live.get("connection_status"), Some(&Value::from("PENDING")));
        let desired = Value::map([
            ("name", Value::from("github")),
            ("provider_type", Value::from("GitHub")),
            ("host_arn", Value::Null),
            ("tags_all", Value::map([("Team", Value::from("web"))])),
        ]);
        let changes = diff(&schema(), &desired, &live, &IgnoreChanges::default());
        assert!(changes.is_empty(), "{changes:?}");
        let other = Value::map([
            ("name", Value::from("github")),
            ("provider_type", Value::from("GitLab")),
            ("tags_all", Value::map([("Team", Value::from("web"))])),
        ]);
        let changes = diff(&schema(), &other, &live, &IgnoreChanges::default());
        assert_eq!(changes.len(), 1);
        assert!(changes[0].forces_replacement);
    }
}
