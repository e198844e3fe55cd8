//! `aws_ssm_parameter`: an SSM Parameter Store parameter. Its ID is its name.
//!
//! A refresh reads values in batches (`GetParameters`, 10 names a call,
//! decrypted so SecureString values compare as plain text) and metadata in
//! batches (`DescribeParameters` with a name filter, 50 names a call), and
//! tags in one chain for the stack's parameters from the Resource Groups
//! Tagging API (`GetResources`); a parameter it does not list (its stack
//! tags removed, or not indexed yet) gets `ListTagsForResource` of its own.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_ssm::types::{
    Parameter, ParameterMetadata, ParameterStringFilter, ParameterTier, ParameterType,
    ResourceTypeForTagging, Tag,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::PARAMETER;
use crate::args::{bool_or, num, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, bounded_all, conflict, echo, found, gone, ignore_gone, invalid, live_tags, ours,
    required, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, is_known, known_str, Findings};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{desired_tags, stack_tags_by_arn, tag_changes};
use crate::wait::{retry, until, Deadline};

pub(crate) const SSM: &str = "ssm";

/// GetParameters takes at most 10 names; a DescribeParameters filter 50.
const GET_BATCH: usize = 10;
const DESCRIBE_BATCH: usize = 50;

/// `aws_ssm_parameter`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ssm_parameter",
    schema,
    handler: &SsmParameter,
    grants: &[
        // The parameters' tags come in one chain from the Tagging API.
        g(&["ssm:DescribeParameters", "tag:GetResources"], ANY),
        g(
            &[
                "ssm:AddTagsToResource",
                "ssm:DeleteParameter",
                "ssm:GetParameters",
                "ssm:ListTagsForResource",
                "ssm:PutParameter",
                "ssm:RemoveTagsFromResource",
            ],
            &[PARAMETER],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ssm_parameter")
        .doc("An SSM Parameter Store parameter.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The parameter name (a path such as /app/db/host)."),
        )
        .attr(
            AttrSchema::required("type", AttrType::String)
                .check(Check::OneOf(vec!["String", "StringList", "SecureString"]))
                .doc("String, StringList or SecureString."),
        )
        .attr(
            AttrSchema::optional_computed("value", AttrType::String)
                .sensitive()
                .doc("The value (hidden in plans)."),
        )
        .attr(
            AttrSchema::optional_computed("insecure_value", AttrType::String)
                .doc("The value, shown in plans (not for SecureString)."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("A description."))
        .attr(
            AttrSchema::optional("tier", AttrType::String)
                .default("Standard")
                .check(Check::OneOf(vec![
                    "Standard",
                    "Advanced",
                    "Intelligent-Tiering",
                ]))
                .doc("Standard, Advanced or Intelligent-Tiering."),
        )
        .attr(
            AttrSchema::optional_computed("key_id", AttrType::String)
                .doc("The KMS key of a SecureString (default alias/aws/ssm)."),
        )
        .attr(
            AttrSchema::optional_computed("data_type", AttrType::String)
                .force_new()
                .check(Check::OneOf(vec![
                    "text",
                    "aws:ec2:image",
                    "aws:ssm:integration",
                ]))
                .doc("text (the default), aws:ec2:image or aws:ssm:integration."),
        )
        .attr(
            AttrSchema::optional("allowed_pattern", AttrType::String)
                .doc("A regular expression values must match."),
        )
        .attr(
            AttrSchema::optional("overwrite", AttrType::Bool)
                .deprecated("no overwrite argument (a parameter the stack manages is overwritten; import one made elsewhere)")
                .doc("Deprecated: take over an existing parameter of the same name."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The parameter's ARN."))
        .attr(AttrSchema::computed("version", AttrType::Number).doc("The value's version."))
        .taggable()
}

fn parameter_attrs(
    p: &Parameter,
    meta: Option<&ParameterMetadata>,
    tags: &BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let value = s(p.value());
    // Intelligent-Tiering resolves to Standard or Advanced; keep what was asked.
    let tier = match args.and_then(|a| opt_str(a, "tier")) {
        Some("Intelligent-Tiering") => Value::from("Intelligent-Tiering"),
        _ => Value::from(
            meta.and_then(ParameterMetadata::tier)
                .map(ParameterTier::as_str)
                .unwrap_or("Standard"),
        ),
    };
    let insecure = if args.and_then(|a| opt_str(a, "insecure_value")).is_some() {
        value.clone()
    } else {
        Value::Null
    };
    Value::map([
        ("id", s(p.name())),
        ("name", s(p.name())),
        ("type", s(p.r#type().map(ParameterType::as_str))),
        ("value", value),
        ("insecure_value", insecure),
        (
            "description",
            s(meta.and_then(ParameterMetadata::description)),
        ),
        ("tier", tier),
        ("key_id", s(meta.and_then(ParameterMetadata::key_id))),
        (
            "data_type",
            s(p.data_type()
                .or_else(|| meta.and_then(ParameterMetadata::data_type))),
        ),
        (
            "allowed_pattern",
            s(meta.and_then(ParameterMetadata::allowed_pattern)),
        ),
        ("overwrite", echo(args, "overwrite", Value::Null)),
        ("arn", s(p.arn())),
        ("version", num(p.version())),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// The parameters' values, [`GET_BATCH`] names a call, the batches
/// concurrently (bounded).
async fn get_values(aws: &Aws, names: &[String]) -> Result<Vec<Parameter>, ProviderError> {
    let pages = bounded_all(names.chunks(GET_BATCH).map(|chunk| async move {
        aws.ssm
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .aws(SSM, "GetParameters")
    }))
    .await;
    let mut out = Vec::new();
    for page in pages {
        out.extend(page?.parameters().iter().cloned());
    }
    Ok(out)
}

/// The parameters' metadata, [`DESCRIBE_BATCH`] names a call (a page
/// holds as many), the batches concurrently (bounded).
async fn describe(aws: &Aws, names: &[String]) -> Result<Vec<ParameterMetadata>, ProviderError> {
    let pages = bounded_all(names.chunks(DESCRIBE_BATCH).map(|chunk| async move {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .set_values(Some(chunk.to_vec()))
            .build()
            .map_err(|e| invalid(SSM, "DescribeParameters", e.to_string()))?;
        aws.ssm
            .describe_parameters()
            .parameter_filters(filter)
            // The default page is 10 parameters: a chain of five calls
            // per batch instead of one.
            .max_results(DESCRIBE_BATCH as i32)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(SSM, "DescribeParameters")
    }))
    .await;
    let mut out = Vec::new();
    for chunk in pages {
        out.extend(chunk?.iter().flat_map(|p| p.parameters().iter().cloned()));
    }
    Ok(out)
}

async fn tags_of(aws: &Aws, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .aws(SSM, "ListTagsForResource")?;
    Ok(out
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// The parameters with these names that exist, with metadata and tags.
/// The parameters with these names, with their metadata and tags: tags
/// from `tagged` (the stack's parameters' tags by ARN,
/// [`stack_tags_by_arn`]) where it has them, else one
/// `ListTagsForResource` per parameter.
async fn read_all(
    aws: &Aws,
    names: &[String],
    tagged: impl std::future::Future<
        Output = Result<Option<HashMap<String, BTreeMap<String, String>>>, ProviderError>,
    >,
) -> Result<
    Vec<(
        Parameter,
        Option<ParameterMetadata>,
        BTreeMap<String, String>,
    )>,
    ProviderError,
> {
    // Values and metadata at once (a name that does not exist is simply
    // absent from both).
    let (values, metas, tagged) =
        tokio::try_join!(get_values(aws, names), describe(aws, names), tagged)?;
    let tagged = tagged.as_ref();
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let tags = bounded_all(values.iter().map(|p| async move {
        if let Some(tags) = p.arn().and_then(|a| tagged?.get(a)) {
            return Ok(tags.clone());
        }
        let name = p.name().unwrap_or_default();
        found(tags_of(aws, name).await).map(Option::unwrap_or_default)
    }))
    .await;
    let mut metas: HashMap<String, ParameterMetadata> = metas
        .into_iter()
        .filter_map(|m| Some((m.name()?.to_string(), m)))
        .collect();
    values
        .into_iter()
        .zip(tags)
        .map(|(p, t)| {
            let meta = p.name().and_then(|n| metas.remove(n));
            Ok((p, meta, t?))
        })
        .collect()
}

/// One parameter, `None` when it cannot be read. `fresh`: it was written a
/// moment ago, and its metadata (read at the same time as its value, and
/// as eventually consistent) must be there too, else it is not readable
/// yet (a create polls until it is).
async fn read(
    aws: &Aws,
    name: &str,
    args: Option<&Value>,
    fresh: bool,
) -> Result<Option<Value>, ProviderError> {
    Ok(read_all(aws, &[name.to_string()], async { Ok(None) })
        .await?
        .first()
        .filter(|(_, m, _)| !fresh || m.is_some())
        .map(|(p, m, t)| parameter_attrs(p, m.as_ref(), t, args)))
}

/// The value to write: `value`, else `insecure_value`.
fn desired_value<'a>(d: &'a Value, operation: &str) -> Result<&'a str, ProviderError> {
    d.get("value")
        .and_then(Value::as_str)
        .or_else(|| d.get("insecure_value").and_then(Value::as_str))
        .ok_or_else(|| invalid(SSM, operation, "one of value or insecure_value is required"))
}

fn ssm_tags(tags: &BTreeMap<String, String>, operation: &str) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| invalid(SSM, operation, e.to_string()))
        })
        .collect()
}

/// PutParameter with the desired arguments. Tags go with a first write
/// only (SSM refuses them together with `Overwrite`).
async fn put(
    aws: &Aws,
    name: &str,
    d: &Value,
    overwrite: bool,
    prior_description: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let description = match opt_str(d, "description") {
        Some(desc) => Some(desc.to_string()),
        // Clearing a description needs an explicit empty one.
        None if prior_description => Some(String::new()),
        None => None,
    };
    let tags = if overwrite {
        None
    } else {
        Some(ssm_tags(&desired_tags(d), "PutParameter")?)
    };
    let call = aws
        .ssm
        .put_parameter()
        .name(name)
        .r#type(ParameterType::from(required(
            d,
            "type",
            SSM,
            "PutParameter",
        )?))
        .value(desired_value(d, "PutParameter")?)
        .set_description(description)
        .tier(ParameterTier::from(
            opt_str(d, "tier").unwrap_or("Standard"),
        ))
        .set_key_id(opt_str(d, "key_id").map(str::to_string))
        .set_allowed_pattern(opt_str(d, "allowed_pattern").map(str::to_string))
        .set_data_type(opt_str(d, "data_type").map(str::to_string))
        .overwrite(overwrite)
        .set_tags(tags);
    retry(deadline, || async {
        call.clone().send().await.aws(SSM, "PutParameter")
    })
    .await
    .map(|_| ())
}

async fn reconcile_tags(
    aws: &Aws,
    name: &str,
    prior: &BTreeMap<String, String>,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (set, remove) = tag_changes(prior, &desired_tags(desired));
    if !remove.is_empty() {
        retry(deadline, || async {
            aws.ssm
                .remove_tags_from_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .set_tag_keys(Some(remove.clone()))
                .send()
                .await
                .aws(SSM, "RemoveTagsFromResource")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = ssm_tags(&set, "AddTagsToResource")?;
        retry(deadline, || async {
            aws.ssm
                .add_tags_to_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .aws(SSM, "AddTagsToResource")
        })
        .await?;
    }
    Ok(())
}

pub(crate) struct SsmParameter;

#[async_trait]
impl ResourceHandler for SsmParameter {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut names: Vec<String> = req
            .known
            .iter()
            .map(|k| k.id.clone())
            .filter(|id| !id.is_empty())
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let known_attrs: HashMap<&str, &Value> = req
            .known
            .iter()
            .map(|k| (k.id.as_str(), &k.attrs))
            .collect();
        // The parameters' tags in one chain (the type's second), beside
        // the values and metadata.
        let tagged = async { stack_tags_by_arn(aws, "ssm:parameter", &req.owner).await.map(Some) };
        Ok(read_all(aws, &names, tagged)
            .await?
            .into_iter()
            .filter_map(|(p, meta, tags)| {
                let id = p.name()?.to_string();
                let known = known_attrs.get(id.as_str()).copied();
                Some(LiveResource {
                    address: address_of(&id, &tags, &req.known),
                    attrs: parameter_attrs(&p, meta.as_ref(), &tags, known),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", SSM, "PutParameter")?;
        match put(aws, name, d, false, false, &deadline).await {
            Ok(()) => {}
            Err(e) if has_code(&e, "ParameterAlreadyExists") => {
                let tags = tags_of(aws, name).await?;
                if !ours(&tags, &req.owner, &req.address) && !bool_or(d, "overwrite", false) {
                    return Err(invalid(
                        SSM,
                        "PutParameter",
                        conflict("SSM parameter", name, &tags, &req.owner),
                    ));
                }
                tracing::info!(parameter = name, "taking over the existing parameter");
                async {
                    put(aws, name, d, true, false, &deadline).await?;
                    reconcile_tags(aws, name, &tags, d, &deadline).await
                }
                .await
                .map_err(|e| after_create(name, e))?;
            }
            Err(e) => return Err(e),
        }
        until(
            &deadline,
            "GetParameters",
            &format!("parameter {name} to be readable"),
            || read(aws, name, Some(d), true),
        )
        .await
        .map_err(|e| after_create(name, e))
    }

    /// A parameter of the same (known) name is looked up, unless
    /// `overwrite` lets the create take it over.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        if !is_known(d, "overwrite") || bool_or(d, "overwrite", false) {
            return Ok(Vec::new());
        }
        const ACTION: &str = "ssm:DescribeParameters";
        let mut findings = Findings::new();
        let existing = findings.read(ACTION, describe(aws, &[name.to_string()]).await)?;
        if existing
            .unwrap_or_default()
            .iter()
            .any(|p| p.name() == Some(name))
        {
            const TAGS: &str = "ssm:ListTagsForResource";
            if let Some(tags) = findings.read(TAGS, found(tags_of(aws, name).await))? {
                let tags = tags.unwrap_or_default();
                findings.name_in_use(req, ACTION, "SSM parameter", name, &tags);
            }
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), SSM, "PutParameter")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let value_changed = req
            .changed
            .iter()
            .any(|c| !matches!(c.as_str(), "tags" | "tags_all" | "overwrite"));
        if value_changed {
            let had_description = opt_str(&prior, "description").is_some();
            put(aws, name, d, true, had_description, &deadline).await?;
        }
        reconcile_tags(aws, name, &live_tags(&prior), d, &deadline).await?;
        read(aws, name, Some(d), false)
            .await?
            .ok_or_else(|| gone(SSM, "GetParameters", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_gone(
            aws.ssm
                .delete_parameter()
                .name(&req.id)
                .send()
                .await
                .aws(SSM, "DeleteParameter"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter() -> Parameter {
        Parameter::builder()
            .name("/app/db/password")
            .r#type(ParameterType::SecureString)
            .value("hunter2")
            .version(3)
            .arn("arn:aws:ssm:us-east-1:1:parameter/app/db/password")
            .data_type("text")
            .build()
    }

    #[test]
    fn live_parameter_is_in_schema_shape() {
        let meta = ParameterMetadata::builder()
            .name("/app/db/password")
            .key_id("alias/aws/ssm")
            .description("db")
            .tier(ParameterTier::Standard)
            .build();
        let v = parameter_attrs(&parameter(), Some(&meta), &BTreeMap::new(), None);
        assert_eq!(v.get("value"), Some(&Value::from("hunter2")));
        assert_eq!(v.get("insecure_value"), Some(&Value::Null));
        assert_eq!(v.get("type"), Some(&Value::from("SecureString")));
        assert_eq!(v.get("version"), Some(&Value::from(3)));
        assert_eq!(v.get("key_id"), Some(&Value::from("alias/aws/ssm")));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn intelligent_tiering_and_insecure_values_read_as_written() {
        let args = Value::map([
            ("tier", Value::from("Intelligent-Tiering")),
            ("insecure_value", Value::from("hunter2")),
        ]);
        let v = parameter_attrs(&parameter(), None, &BTreeMap::new(), Some(&args));
        assert_eq!(v.get("tier"), Some(&Value::from("Intelligent-Tiering")));
        assert_eq!(v.get("insecure_value"), Some(&Value::from("hunter2")));
    }

    #[test]
    fn the_value_comes_from_value_or_insecure_value() {
        let d = Value::map([("insecure_value", Value::from("x"))]);
        assert_eq!(desired_value(&d, "PutParameter").unwrap(), "x");
        assert!(desired_value(&Value::Null, "PutParameter").is_err());
    }
}
