//! Shared pieces of the load-balancing (ELBv2) and ECS resource families:
//! each service's error codes, tags (read in batches, applied at creation,
//! reconciled on update), bounded concurrent per-resource reads, and ECS
//! task definitions' container definitions as raw JSON.
//!
//! Neither service can filter a Describe call on a tag, so ownership is
//! decided on the answer: an object is this stack's when it is known in
//! state or carries the stack's `stackd:stack` tag.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::operation::RequestId;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use stackd_engine::provider::{ErrorKind, KnownResource, Owner, ProviderError, ADDRESS_TAG};
use stackd_spec::{Address, BlockSchema, Value};

use crate::args::str_map;
use crate::context::Aws;
use crate::error::from_sdk;
use crate::tags::{desired_tags, tag_changes};
use crate::wait::{retry, Deadline};

/// The service name ELBv2 errors carry (its IAM action prefix).
pub(crate) const ELBV2: &str = "elasticloadbalancing";
/// The service name ECS errors carry.
pub(crate) const ECS: &str = "ecs";

/// ELBv2's `DescribeTags` takes at most 20 ARNs.
const ELBV2_TAGS_PER_CALL: usize = 20;

// ---------------------------------------------------------------------------
// Errors

/// `.elbv2("CreateLoadBalancer")?` / `.ecs("CreateService")?` on SDK results.
pub(crate) trait SdkResultExt<T> {
    fn elbv2(self, operation: &str) -> Result<T, ProviderError>;
    fn ecs(self, operation: &str) -> Result<T, ProviderError>;
}

impl<T, E> SdkResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    fn elbv2(self, operation: &str) -> Result<T, ProviderError> {
        self.map_err(|e| {
            let mut err = from_sdk(ELBV2, operation, e);
            if let Some(kind) = elbv2_kind(operation, err.code.as_deref()) {
                err.kind = kind;
            }
            err
        })
    }

    fn ecs(self, operation: &str) -> Result<T, ProviderError> {
        self.map_err(|e| {
            let mut err = from_sdk(ECS, operation, e);
            if let Some(kind) = ecs_kind(operation, err.code.as_deref(), &err.message) {
                err.kind = kind;
            }
            err
        })
    }
}

/// ELBv2 error codes whose meaning the generic table does not know.
pub(crate) fn elbv2_kind(operation: &str, code: Option<&str>) -> Option<ErrorKind> {
    match code? {
        // A security group created a moment ago, not yet visible to ELBv2.
        "InvalidSecurityGroup"
            if operation.starts_with("Create") || operation.starts_with("Set") =>
        {
            Some(ErrorKind::Transient)
        }
        _ => None,
    }
}

/// Messages of ECS's `InvalidParameterException` that mean "not yet": an IAM
/// role or service-linked role created a moment ago and not yet assumable,
/// or a target group whose listener is still being created. The Terraform
/// provider retries the same ones.
const ECS_NOT_YET_MESSAGES: &[&str] = &[
    "verify that the ecs service role being passed has the proper permissions",
    "unable to assume role",
    "unable to assume the service linked role",
    "does not have an associated load balancer",
    "role is not valid",
    "cannot be assumed",
];

/// ECS error codes whose meaning the generic table does not know. `None`
/// keeps the generic classification.
pub(crate) fn ecs_kind(operation: &str, code: Option<&str>, message: &str) -> Option<ErrorKind> {
    let code = code?;
    let lower = message.to_ascii_lowercase();
    match code {
        // A cluster created a moment ago; for reads and removals it is gone.
        "ClusterNotFoundException" => Some(
            if matches!(operation, "CreateService" | "PutClusterCapacityProviders") {
                ErrorKind::Transient
            } else {
                ErrorKind::NotFound
            },
        ),
        "ServiceNotFoundException" | "ServiceNotActiveException" => Some(ErrorKind::NotFound),
        "ClientException" if lower.contains("too many concurrent attempts") => {
            Some(ErrorKind::Throttled)
        }
        "ClientException"
            if (lower.contains("unable to describe task definition")
                || lower.contains("does not exist"))
                && ["Describe", "Deregister", "Delete"]
                    .iter()
                    .any(|p| operation.starts_with(p)) =>
        {
            Some(ErrorKind::NotFound)
        }
        "InvalidParameterException" if ECS_NOT_YET_MESSAGES.iter().any(|m| lower.contains(m)) => {
            Some(ErrorKind::Transient)
        }
        // A cluster still draining its services or tasks; a change still
        // being applied.
        "ClusterContainsServicesException"
        | "ClusterContainsTasksException"
        | "ClusterContainsContainerInstancesException"
        | "UpdateInProgressException"
        | "ServerException" => Some(ErrorKind::Transient),
        _ => None,
    }
}

/// An error found by the provider itself (a malformed argument, an
/// unexpected answer), not reported by AWS.
pub(crate) fn invalid(service: &str, operation: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Permanent, service, operation, message)
}

/// The object vanished in the middle of an operation.
pub(crate) fn gone(service: &str, operation: &str, id: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::NotFound,
        service,
        operation,
        format!("{id} no longer exists"),
    )
}

/// Waits (`crate::wait`) report timeouts as EC2's; this names the service
/// actually waited on.
pub(crate) fn in_service(service: &str, mut err: ProviderError) -> ProviderError {
    if err.kind == ErrorKind::Timeout && err.service == crate::error::EC2 {
        err.service = service.to_string();
    }
    err
}

/// An object with this name exists and is not the one this address made.
pub(crate) fn conflict(
    service: &str,
    operation: &str,
    what: &str,
    address: &Address,
    owner: &Owner,
    tags: &TagMap,
) -> ProviderError {
    let why = owner
        .foreign_reason(|k| tags.get(k).map(String::as_str))
        .unwrap_or_else(|| format!("its {ADDRESS_TAG} tag names another resource"));
    invalid(
        service,
        operation,
        format!(
            "{what} already exists and is not owned by {address} of stack {owner}: {why}; \
             import it, remove it, or choose another name"
        ),
    )
}

/// A nested block of at most one instance written as a list, as the
/// Terraform provider's `MaxItems: 1` blocks are.
pub(crate) fn at_most_one(mut block: BlockSchema) -> BlockSchema {
    block.max_items = Some(1);
    block
}

/// An object this address made (its ownership tags say so) may be adopted
/// by a create only when it already is what the spec asks for in every
/// argument that forces replacement: that is a create retried after a
/// crash. Otherwise it is the old object of a replacement that creates
/// first under the same name, which AWS refuses as the Terraform provider
/// does, and adopting it would have the old object deleted under the new
/// one's record.
pub(crate) fn check_adoptable(
    schema: &stackd_spec::ResourceSchema,
    desired: &Value,
    live: &Value,
    operation: &str,
    what: &str,
) -> Result<(), ProviderError> {
    let differing: Vec<String> = stackd_engine::diff::diff(
        schema,
        desired,
        live,
        &stackd_engine::diff::IgnoreChanges::default(),
    )
    .into_iter()
    .filter(|c| c.forces_replacement)
    .map(|c| c.name)
    .collect();
    if differing.is_empty() {
        return Ok(());
    }
    // The service that serves the type (ECS, ELBv2, RDS...).
    let service = crate::services::SERVICES
        .iter()
        .find(|s| s.managed.iter().any(|t| t.name == schema.type_name))
        .map_or(ELBV2, |s| s.iam_prefix);
    Err(invalid(
        service,
        operation,
        format!(
            "{what} already exists with other {}: a replacement cannot be created \
             under the same name before the old one is destroyed; change the name \
             or drop create_before_destroy",
            differing.join(", ")
        ),
    ))
}

// ---------------------------------------------------------------------------
// Tags

/// Tags as a sorted map.
pub(crate) type TagMap = BTreeMap<String, String>;

/// Live tags as `tags_all`: every tag but AWS's reserved `aws:` ones.
pub(crate) fn tags_value(tags: &TagMap) -> Value {
    Value::Map(
        tags.iter()
            .filter(|(k, _)| !crate::tags::is_hidden_tag(k))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// True when the tags name `stack` as the owner.
pub(crate) fn owned_by(tags: &TagMap, owner: &Owner) -> bool {
    owner.owns(|k| tags.get(k).map(String::as_str))
}

/// True when the tags say this object was made for `address` of `stack`:
/// what a create retried after a crash adopts.
pub(crate) fn made_for(tags: &TagMap, owner: &Owner, address: &Address) -> bool {
    owner.made(|k| tags.get(k).map(String::as_str), address)
}

/// The address a live object belongs to: the known instance with its ID
/// (state is authoritative), else its ownership tag.
pub(crate) fn address_for(id: &str, tags: &TagMap, known: &[KnownResource]) -> Option<Address> {
    known
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.address.clone())
        .or_else(|| tags.get(ADDRESS_TAG).and_then(|a| a.parse().ok()))
}

/// True when refresh must return the object: known by ID or tagged as the
/// stack's.
pub(crate) fn is_owned(id: &str, tags: &TagMap, known: &[KnownResource], owner: &Owner) -> bool {
    known.iter().any(|k| k.id == id) || owned_by(tags, owner)
}

/// The tags to apply at creation (`tags_all`), in ELBv2's shape.
pub(crate) fn elbv2_tags(
    desired: &Value,
) -> Option<Vec<aws_sdk_elasticloadbalancingv2::types::Tag>> {
    let tags = desired_tags(desired);
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| {
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect()
    })
}

fn elbv2_tag_map(tags: &[aws_sdk_elasticloadbalancingv2::types::Tag]) -> TagMap {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// The tags of ELBv2 objects, 20 ARNs per `DescribeTags` call. An ARN that
/// no longer exists is left out (a batch naming one is read again ARN by
/// ARN, since AWS fails the whole call).
pub(crate) async fn elbv2_describe_tags(
    aws: &Aws,
    arns: &[String],
) -> Result<HashMap<String, TagMap>, ProviderError> {
    let mut out = HashMap::new();
    for chunk in arns.chunks(ELBV2_TAGS_PER_CALL) {
        match elbv2_tags_call(aws, chunk).await {
            Ok(found) => out.extend(found),
            Err(e) if e.kind == ErrorKind::NotFound && chunk.len() > 1 => {
                for arn in chunk {
                    match elbv2_tags_call(aws, std::slice::from_ref(arn)).await {
                        Ok(found) => out.extend(found),
                        Err(e) if e.kind == ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

async fn elbv2_tags_call(
    aws: &Aws,
    arns: &[String],
) -> Result<HashMap<String, TagMap>, ProviderError> {
    let out = aws
        .elbv2
        .describe_tags()
        .set_resource_arns(Some(arns.to_vec()))
        .send()
        .await
        .elbv2("DescribeTags")?;
    Ok(out
        .tag_descriptions()
        .iter()
        .filter_map(|d| Some((d.resource_arn()?.to_string(), elbv2_tag_map(d.tags()))))
        .collect())
}

/// The tags of one ELBv2 object (empty when it is gone).
pub(crate) async fn elbv2_tags_of(aws: &Aws, arn: &str) -> Result<TagMap, ProviderError> {
    Ok(elbv2_describe_tags(aws, &[arn.to_string()])
        .await?
        .remove(arn)
        .unwrap_or_default())
}

/// Brings an ELBv2 object's tags from `prior` (live `tags_all`) to
/// `desired` (`tags_all` asked for).
pub(crate) async fn elbv2_reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (set, remove) = tag_changes(&str_map(prior, "tags_all"), &desired_tags(desired));
    if !remove.is_empty() {
        retry(deadline, || async {
            aws.elbv2
                .remove_tags()
                .resource_arns(arn)
                .set_tag_keys(Some(remove.clone()))
                .send()
                .await
                .elbv2("RemoveTags")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags: Vec<_> = set
            .iter()
            .map(|(k, v)| {
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect();
        retry(deadline, || async {
            aws.elbv2
                .add_tags()
                .resource_arns(arn)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .elbv2("AddTags")
        })
        .await?;
    }
    Ok(())
}

/// The tags to apply at creation (`tags_all`), in ECS's shape.
pub(crate) fn ecs_tags(desired: &Value) -> Option<Vec<aws_sdk_ecs::types::Tag>> {
    let tags = desired_tags(desired);
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
            .collect()
    })
}

/// ECS tags as a map.
pub(crate) fn ecs_tag_map(tags: &[aws_sdk_ecs::types::Tag]) -> TagMap {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// Brings an ECS object's tags from `prior` to `desired`.
pub(crate) async fn ecs_reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (set, remove) = tag_changes(&str_map(prior, "tags_all"), &desired_tags(desired));
    if !remove.is_empty() {
        retry(deadline, || async {
            aws.ecs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(remove.clone()))
                .send()
                .await
                .ecs("UntagResource")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags: Vec<_> = set
            .iter()
            .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
            .collect();
        retry(deadline, || async {
            aws.ecs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .ecs("TagResource")
        })
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Concurrent per-resource reads

/// Runs `read` for every item, at most
/// [`crate::concurrent::MAX_CONCURRENT_READS`] at once, for
/// APIs that read one object per call. Results keep the items' order; the
/// first error is returned (reads in flight are dropped: they change
/// nothing).
pub(crate) async fn read_each<T, R, F, Fut>(
    aws: &Aws,
    items: Vec<T>,
    read: F,
) -> Result<Vec<R>, ProviderError>
where
    F: Fn(Aws, T) -> Fut,
    Fut: Future<Output = Result<R, ProviderError>>,
{
    crate::concurrent::bounded_all(items.into_iter().map(|item| read(aws.clone(), item)))
        .await
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------
// ECS container definitions as raw JSON

/// Keeps the body of the answer to one call, read after the SDK has
/// buffered it. ECS task definitions' `containerDefinitions` are read from
/// it as JSON: the SDK's typed structs cannot be turned back into JSON, and
/// a hand-written mapping would silently drop every field it does not know
/// (the Terraform provider likewise reuses the SDK's own serializer).
#[derive(Clone, Debug, Default)]
pub(crate) struct CaptureBody {
    body: Arc<Mutex<Option<Vec<u8>>>>,
}

impl CaptureBody {
    /// The captured body parsed as JSON (`Null` when nothing was captured).
    pub fn json(&self) -> serde_json::Value {
        let body = self
            .body
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        body.and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "CaptureBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            *self
                .body
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// Replaces `containerDefinitions` in a serialized ECS request body with
/// `definitions` (the user's JSON array), so that every field of the spec
/// reaches ECS as written.
pub(crate) fn with_container_definitions(
    mut request: HttpRequest,
    definitions: &serde_json::Value,
) -> Result<HttpRequest, RawBodyError> {
    let bytes = request
        .body()
        .bytes()
        .ok_or(RawBodyError("streaming body"))?;
    let mut body: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| RawBodyError("body is not JSON"))?;
    let obj = body
        .as_object_mut()
        .ok_or(RawBodyError("body is not a JSON object"))?;
    obj.insert("containerDefinitions".into(), definitions.clone());
    let new = serde_json::to_vec(&body).map_err(|_| RawBodyError("cannot serialize"))?;
    request
        .headers_mut()
        .insert("content-length", new.len().to_string());
    *request.body_mut() = SdkBody::from(new);
    Ok(request)
}

/// Why a request body could not be rewritten.
#[derive(Debug)]
pub(crate) struct RawBodyError(&'static str);

impl std::fmt::Display for RawBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot set containerDefinitions in the request: {}",
            self.0
        )
    }
}

impl std::error::Error for RawBodyError {}

/// Service clients for unit tests: built offline, never called.
#[cfg(test)]
pub(crate) fn offline_aws() -> Aws {
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    Aws::new(&config, "eu-west-1".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_role_propagation_errors_are_transient() {
        for msg in [
            "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.",
            "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
            "The target group with targetGroupArn arn:x does not have an associated load balancer.",
        ] {
            assert_eq!(
                ecs_kind("CreateService", Some("InvalidParameterException"), msg),
                Some(ErrorKind::Transient),
                "{msg}"
            );
        }
        assert_eq!(
            ecs_kind(
                "CreateService",
                Some("InvalidParameterException"),
                "bad subnet"
            ),
            None
        );
    }

    #[test]
    fn ecs_missing_objects_are_not_found_except_a_new_cluster() {
        assert_eq!(
            ecs_kind("DescribeServices", Some("ClusterNotFoundException"), ""),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            ecs_kind("CreateService", Some("ClusterNotFoundException"), ""),
            Some(ErrorKind::Transient)
        );
        assert_eq!(
            ecs_kind("UpdateService", Some("ServiceNotActiveException"), ""),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            ecs_kind(
                "DescribeTaskDefinition",
                Some("ClientException"),
                "Unable to describe task definition."
            ),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            ecs_kind(
                "CreateService",
                Some("ClientException"),
                "TaskDefinition does not exist"
            ),
            None
        );
        assert_eq!(
            elbv2_kind("CreateLoadBalancer", Some("InvalidSecurityGroup")),
            Some(ErrorKind::Transient)
        );
        assert_eq!(
            elbv2_kind("DescribeTags", Some("InvalidSecurityGroup")),
            None
        );
        assert_eq!(
            ecs_kind(
                "DeleteCluster",
                Some("ClusterContainsServicesException"),
                ""
            ),
            Some(ErrorKind::Transient)
        );
    }

    #[test]
    fn ownership_and_adoption_read_the_tags() {
        let addr: Address = "aws_lb.main".parse().unwrap();
        use stackd_engine::provider::{STACK_ID_TAG, STACK_TAG};
        let tags: TagMap = [
            (STACK_TAG.to_string(), "prod".to_string()),
            (STACK_ID_TAG.to_string(), "id-prod".to_string()),
            (ADDRESS_TAG.to_string(), "aws_lb.main".to_string()),
            ("aws:cloudformation:x".to_string(), "y".to_string()),
        ]
        .into();
        let prod = Owner::new("prod", "id-prod");
        assert!(owned_by(&tags, &prod));
        assert!(made_for(&tags, &prod, &addr));
        assert!(!made_for(&tags, &prod, &"aws_lb.other".parse().unwrap()));
        assert!(!made_for(&tags, &Owner::new("dev", "id-dev"), &addr));
        // Same name, another identity: another copy of the spec.
        assert!(!made_for(&tags, &Owner::new("prod", "id-other"), &addr));
        assert_eq!(tags_value(&tags).as_map().map(|m| m.len()), Some(3));
        assert_eq!(address_for("arn", &tags, &[]), Some(addr));
    }

    #[test]
    fn only_an_object_matching_the_replacing_arguments_is_adopted() {
        use stackd_spec::{AttrSchema, AttrType, ResourceSchema};
        let schema = ResourceSchema::resource("aws_lb_target_group")
            .attr(AttrSchema::required("name", AttrType::String).force_new())
            .attr(AttrSchema::optional("port", AttrType::Number).force_new())
            .attr(AttrSchema::optional(
                "deregistration_delay",
                AttrType::Number,
            ));
        let live = Value::map([
            ("name", Value::from("api")),
            ("port", Value::from(80)),
            ("deregistration_delay", Value::from(300)),
        ]);
        let retry = Value::map([
            ("name", Value::from("api")),
            ("port", Value::from(80)),
            ("deregistration_delay", Value::from(30)),
        ]);
        assert!(check_adoptable(&schema, &retry, &live, "CreateTargetGroup", "x").is_ok());
        let replacement = Value::map([("name", Value::from("api")), ("port", Value::from(8080))]);
        let err =
            check_adoptable(&schema, &replacement, &live, "CreateTargetGroup", "x").unwrap_err();
        assert!(err.message.contains("port"), "{}", err.message);
        assert_eq!(err.kind, ErrorKind::Permanent);
    }

    #[test]
    fn container_definitions_replace_the_serialized_ones() {
        let mut request = HttpRequest::new(SdkBody::from(
            r#"{"family":"web","containerDefinitions":[{"name":"placeholder"}]}"#,
        ));
        request.headers_mut().insert("content-length", "60");
        let defs = serde_json::json!([{"name": "web", "image": "nginx", "healthCheck": {"command": ["CMD", "true"]}}]);
        let out = with_container_definitions(request, &defs).unwrap();
        let body: serde_json::Value = serde_json::from_slice(out.body().bytes().unwrap()).unwrap();
        assert_eq!(body["containerDefinitions"], defs);
        assert_eq!(body["family"], "web");
        assert_eq!(
            out.headers().get("content-length"),
            Some(out.body().bytes().unwrap().len().to_string().as_str())
        );
    }

    #[tokio::test]
    async fn concurrent_reads_keep_the_order_and_stop_at_an_error() {
        let aws = offline_aws();
        let out = read_each(&aws, vec![3u64, 1, 2], |_, n| async move {
            tokio::time::sleep(std::time::Duration::from_millis(n)).await;
            Ok(n * 10)
        })
        .await
        .unwrap();
        assert_eq!(out, vec![30, 10, 20]);
        let err = read_each(&aws, vec![1u64, 2], |_, n| async move {
            if n == 2 {
                Err(invalid(ECS, "DescribeTaskDefinition", "boom"))
            } else {
                Ok(n)
            }
        })
        .await
        .unwrap_err();
        assert_eq!(err.message, "boom");
    }
}
