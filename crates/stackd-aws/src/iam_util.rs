//! Helpers shared by the IAM, S3, CloudWatch Logs, ECR, SSM, SNS and SQS
//! resource modules: IAM policy documents (URL-decoding, the canonical form
//! the diff compares, the wait for a put policy to read back, refusing
//! other stacks' objects), error classification for these services' codes,
//! bounded concurrency for APIs without a batch read, tags as plain maps,
//! and generated names.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use serde_json::{Map, Value as Json};
use stackd_engine::provider::{ErrorKind, KnownResource, Owner, ProviderError, ADDRESS_TAG};
use stackd_spec::{Address, Value};

use crate::args::{hex_digest, opt_str, str_map};
use crate::error::from_sdk;

/// The service name IAM errors carry.
pub(crate) const IAM: &str = "iam";

pub(crate) use crate::concurrent::bounded_all;

// ---------------------------------------------------------------------------
// Errors

/// Codes meaning "another change is in progress; try again shortly".
const TRANSIENT_CODES: &[&str] = &[
    "ConcurrentModification",
    "ConcurrentModificationException",
    "OperationAborted",
    "OperationAbortedException",
    "TooManyUpdates",
    "ServiceFailure",
    "ServerException",
    "InternalError",
];

/// Operations that read or take away: "not found" means gone. For other
/// operations it names something the request refers to, which right after
/// its creation is eventual consistency (IAM's in particular).
fn reads_or_removes(operation: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "Describe", "Get", "List", "Head", "Delete", "Detach", "Remove", "Untag",
    ];
    PREFIXES.iter().any(|p| operation.starts_with(p))
}

/// How an error of these services is to be treated, where the shared
/// classification ([`crate::error::classify`]) does not know the code.
pub(crate) fn reclassify(operation: &str, code: &str, message: &str) -> Option<ErrorKind> {
    if crate::services::is_not_found_code(code) {
        return Some(
            if reads_or_removes(operation) || crate::error::in_delete() {
                ErrorKind::NotFound
            } else {
                ErrorKind::Transient
            },
        );
    }
    if TRANSIENT_CODES.contains(&code) {
        return Some(ErrorKind::Transient);
    }
    // IAM refuses to delete an object still in use (a role with policies
    // or an instance profile, a policy still attached) until the resources
    // using it, deleted just before, are gone everywhere.
    if code == "DeleteConflict" {
        return Some(ErrorKind::Transient);
    }
    // A trust policy naming a role or user created a moment ago.
    if code == "MalformedPolicyDocument" && message.contains("Invalid principal") {
        return Some(ErrorKind::Transient);
    }
    None
}

/// Converts an SDK error of one of these services, classifying its codes.
pub(crate) fn sdk_error<E>(
    service: &str,
    operation: &str,
    err: SdkError<E, HttpResponse>,
) -> ProviderError
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    let mut e = from_sdk(service, operation, err);
    if let Some(kind) = e
        .code
        .as_deref()
        .and_then(|code| reclassify(operation, code, &e.message))
    {
        e.kind = kind;
    }
    e
}

/// `.aws("iam", "CreateRole")?` on the result of an SDK call.
pub(crate) trait AwsResult<T> {
    fn aws(self, service: &str, operation: &str) -> Result<T, ProviderError>;
}

impl<T, E> AwsResult<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    fn aws(self, service: &str, operation: &str) -> Result<T, ProviderError> {
        self.map_err(|e| sdk_error(service, operation, e))
    }
}

/// An error found by the provider itself (a malformed argument, an
/// unexpected answer).
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

/// A required argument, as a permanent error naming the operation it blocks.
pub(crate) fn required<'a>(
    v: &'a Value,
    key: &str,
    service: &str,
    operation: &str,
) -> Result<&'a str, ProviderError> {
    opt_str(v, key)
        .ok_or_else(|| invalid(service, operation, format!("argument {key:?} is required")))
}

/// The ID of an update, which the engine always passes.
pub(crate) fn update_id<'a>(
    id: Option<&'a str>,
    service: &str,
    operation: &str,
) -> Result<&'a str, ProviderError> {
    id.ok_or_else(|| invalid(service, operation, "update without an ID"))
}

/// `Ok(None)` for "not found", for reads where absence is an answer.
pub(crate) fn found<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Maps "already gone" to success, for deletes.
pub(crate) fn ignore_gone<T>(r: Result<T, ProviderError>) -> Result<(), ProviderError> {
    found(r).map(|_| ())
}

// ---------------------------------------------------------------------------
// Concurrency

/// Reads every known object with `read` (at most [`crate::concurrent::MAX_CONCURRENT_READS`] at once);
/// objects that are gone (`Ok(None)` or a not-found error) are left out.
pub(crate) async fn read_each<'a, T, F, Fut>(
    known: &'a [KnownResource],
    read: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(&'a KnownResource) -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&KnownResource> = known
        .iter()
        .filter(|k| !k.id.is_empty() && seen.insert(k.id.clone()))
        .collect();
    let mut out = Vec::new();
    for r in bounded_all(unique.into_iter().map(read)).await {
        if let Some(Some(v)) = found(r)? {
            out.push(v);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Tags and ownership

/// Live tags as `tags_all`: every tag but AWS's reserved `aws:` ones.
pub(crate) fn tags_attr<K: AsRef<str>, V: AsRef<str>>(
    tags: impl IntoIterator<Item = (K, V)>,
) -> Value {
    Value::Map(
        tags.into_iter()
            .filter(|(k, _)| !k.as_ref().starts_with("aws:"))
            .map(|(k, v)| (k.as_ref().to_string(), Value::from(v.as_ref())))
            .collect(),
    )
}

/// The tags of live attributes (`tags_all`).
pub(crate) fn live_tags(attrs: &Value) -> BTreeMap<String, String> {
    str_map(attrs, "tags_all")
}

/// True when live tags carry the ownership tags the desired `tags_all`
/// asks for: the object was made by an earlier attempt of this create.
pub(crate) fn ours(live: &BTreeMap<String, String>, owner: &Owner, address: &Address) -> bool {
    owner.made(|k| live.get(k).map(String::as_str), address)
}

/// How far ahead of the service's clock the clock that stamped a pending
/// create may be, in seconds.
pub(crate) const CLOCK_SKEW_SECS: i64 = 300;

/// True when an object created at `created_secs` (Unix seconds, by the
/// service's clock) was made by a create whose pending record was written
/// at `pending_since` (RFC 3339): for objects without tags, the only sign
/// that an earlier attempt of this create made them. No pending record
/// (a first attempt) means an older object: someone else's.
pub(crate) fn made_by_this_create(created_secs: i64, pending_since: Option<&str>) -> bool {
    use aws_smithy_types::date_time::{DateTime, Format};
    pending_since
        .and_then(|s| DateTime::from_str(s, Format::DateTime).ok())
        .is_some_and(|since| created_secs >= since.secs() - CLOCK_SKEW_SECS)
}

/// The address a live object belongs to: the known instance with its ID,
/// else its ownership tag.
pub(crate) fn address_of(
    id: &str,
    tags: &BTreeMap<String, String>,
    known: &[KnownResource],
) -> Option<Address> {
    known
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.address.clone())
        .or_else(|| tags.get(ADDRESS_TAG).and_then(|a| a.parse().ok()))
}

/// The message for a name already taken by an object this stack did not
/// make.
pub(crate) fn conflict(
    what: &str,
    name: &str,
    live: &BTreeMap<String, String>,
    owner: &Owner,
) -> String {
    let why = owner
        .foreign_reason(|k| live.get(k).map(String::as_str))
        .unwrap_or_else(|| format!("its {ADDRESS_TAG} tag names another resource"));
    format!(
        "{what} {name:?} already exists and is not this resource's: {why}; \
         choose another name, or delete or import the existing one"
    )
}

/// A prior attribute to echo back where the API does not return it.
pub(crate) fn echo(prior: Option<&Value>, key: &str, default: Value) -> Value {
    prior
        .and_then(|p| p.get(key))
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or(default)
}

/// Tags for an IAM request.
pub(crate) fn iam_tags(
    tags: &BTreeMap<String, String>,
    operation: &str,
) -> Result<Vec<aws_sdk_iam::types::Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| invalid(IAM, operation, e.to_string()))
        })
        .collect()
}

/// IAM tags as a map.
pub(crate) fn iam_tag_map(tags: &[aws_sdk_iam::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// An IAM timestamp as Terraform shows it (RFC 3339).
pub(crate) fn iam_date(d: Option<&aws_smithy_types::DateTime>) -> Value {
    d.and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------
// Names

/// The name to create: `name` when set, else `name_prefix` (or `fallback`)
/// followed by 26 characters derived from the create's idempotency token,
/// so that a retried create after a crash picks the same name (Terraform
/// uses a timestamp there, which a retry would not reproduce).
pub(crate) fn name_or_generated(
    desired: &Value,
    name_key: &str,
    prefix_key: &str,
    token: &str,
    fallback: &str,
) -> String {
    if let Some(name) = opt_str(desired, name_key) {
        return name.to_string();
    }
    let prefix = opt_str(desired, prefix_key).unwrap_or(fallback);
    format!("{prefix}{}", &hex_digest(token)[..26])
}

/// What FIFO topics' and queues' names end with.
pub(crate) const FIFO_SUFFIX: &str = ".fifo";

/// The name of an SNS topic or SQS queue to create: `name`, or
/// `name_prefix` and a suffix from the create's token
/// ([`name_or_generated`]). FIFO ones' names end with `.fifo`, others'
/// must not (Terraform's rule).
pub(crate) fn fifo_name(
    d: &Value,
    token: &str,
    fifo: bool,
    service: &str,
    operation: &str,
) -> Result<String, ProviderError> {
    if let Some(name) = opt_str(d, "name") {
        if fifo != name.ends_with(FIFO_SUFFIX) {
            let rule = if fifo {
                "must end with \".fifo\""
            } else {
                "may end with \".fifo\" only when FIFO"
            };
            return Err(invalid(service, operation, format!("name {name:?} {rule}")));
        }
        return Ok(name.to_string());
    }
    let generated = name_or_generated(d, "name", "name_prefix", token, "terraform-");
    Ok(if fifo {
        format!("{generated}{FIFO_SUFFIX}")
    } else {
        generated
    })
}

// ---------------------------------------------------------------------------
// IAM policy documents

/// Decodes a percent-encoded string (RFC 3986, as IAM encodes documents).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A policy document as JSON text: IAM returns documents URL-encoded
/// (`%7B%22Version%22...`); anything that already parses is kept as is.
pub(crate) fn decode_policy(raw: &str) -> String {
    if serde_json::from_str::<Json>(raw).is_ok() {
        return raw.to_string();
    }
    match percent_decode(raw) {
        Some(decoded) if serde_json::from_str::<Json>(&decoded).is_ok() => decoded,
        _ => raw.to_string(),
    }
}

/// A JSON string or list of strings as a sorted, de-duplicated list; other
/// scalars (booleans and numbers in conditions) as their string form.
fn string_set(v: &Json) -> Json {
    let scalar = |x: &Json| match x {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut items: Vec<String> = match v {
        Json::Array(xs) => match xs.iter().map(scalar).collect::<Option<Vec<_>>>() {
            Some(items) => items,
            None => return v.clone(),
        },
        other => match scalar(other) {
            Some(s) => vec![s],
            None => return v.clone(),
        },
    };
    items.sort();
    items.dedup();
    Json::Array(items.into_iter().map(Json::String).collect())
}

/// `"*"` as `{"AWS": ["*"]}` (IAM's documented equivalent); each principal
/// type's identifiers as a sorted list.
fn canonical_principal(v: &Json) -> Json {
    match v {
        Json::String(s) if s == "*" => {
            let mut m = Map::new();
            m.insert("AWS".into(), Json::Array(vec![Json::String("*".into())]));
            Json::Object(m)
        }
        Json::Object(m) => {
            Json::Object(m.iter().map(|(k, v)| (k.clone(), string_set(v))).collect())
        }
        other => other.clone(),
    }
}

fn canonical_statement(stmt: &mut Map<String, Json>) {
    for key in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(v) = stmt.get_mut(key) {
            *v = string_set(v);
        }
    }
    for key in ["Principal", "NotPrincipal"] {
        if let Some(v) = stmt.get_mut(key) {
            *v = canonical_principal(v);
        }
    }
    if let Some(Json::Object(ops)) = stmt.get_mut("Condition") {
        for keys in ops.values_mut() {
            if let Json::Object(keys) = keys {
                for values in keys.values_mut() {
                    *values = string_set(values);
                }
            }
        }
        ops.retain(|_, keys| !matches!(keys, Json::Object(k) if k.is_empty()));
    }
    if matches!(stmt.get("Condition"), Some(Json::Object(m)) if m.is_empty()) {
        stmt.remove("Condition");
    }
    if matches!(stmt.get("Sid"), Some(Json::String(s)) if s.is_empty()) {
        stmt.remove("Sid");
    }
}

/// JSON with every object's keys in sorted order, so that canonical forms
/// print the same whatever order they were written in.
pub(crate) fn sorted_json(j: &Json) -> Json {
    match j {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_json(&m[k])))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(sorted_json).collect()),
        other => other.clone(),
    }
}

/// The canonical form of a policy document, or `None` when it is not one.
pub(crate) fn canonical_policy(text: &str) -> Option<String> {
    let mut doc: Json = serde_json::from_str(&decode_policy(text)).ok()?;
    let obj = doc.as_object_mut()?;
    if let Some(statements) = obj.get_mut("Statement") {
        if statements.is_object() {
            *statements = Json::Array(vec![statements.take()]);
        }
        if let Json::Array(items) = statements {
            for item in items.iter_mut() {
                if let Json::Object(stmt) = item {
                    canonical_statement(stmt);
                }
            }
        }
    }
    serde_json::to_string(&sorted_json(&doc)).ok()
}

/// Polls `read` (the live attributes of a policy type, `None` while there
/// is no policy) until its `policy` means the same as the one `desired`
/// asks for: services' reads may lag a put for a moment. Every policy type
/// (bucket, repository, topic, queue) waits with this one.
pub(crate) async fn read_policy_when<F, Fut>(
    deadline: &crate::wait::Deadline,
    operation: &str,
    what: &str,
    desired: &Value,
    read: F,
) -> Result<Value, ProviderError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<Value>, ProviderError>>,
{
    let canonical = |v: &Value| {
        v.get("policy")
            .and_then(Value::as_str)
            .and_then(canonical_policy)
    };
    let want = canonical(desired);
    crate::wait::until(deadline, operation, what, || async {
        Ok(read().await?.filter(|v| canonical(v) == want))
    })
    .await
}

/// Refuses to change an object (`what`, e.g. `bucket "b"`) whose tags say
/// it belongs to another stack; untagged objects and this stack's pass.
pub(crate) fn refuse_other_stacks(
    tags: &BTreeMap<String, String>,
    owner: &Owner,
    service: &str,
    operation: &str,
    what: &str,
) -> Result<(), ProviderError> {
    if !tags.contains_key(stackd_engine::provider::STACK_TAG) {
        return Ok(());
    }
    match owner.foreign_reason(|k| tags.get(k).map(String::as_str)) {
        Some(why) => Err(invalid(
            service,
            operation,
            format!("{what} is not this stack's to set a policy on: {why}"),
        )),
        None => Ok(()),
    }
}

/// Normalizer of policy arguments: desired and live documents compare in
/// their canonical form (URL-decoded; `Statement` always a list; actions,
/// resources, principals and condition values as sorted lists).
pub(crate) fn normalize_policy(v: &Value) -> Value {
    v.as_str()
        .and_then(canonical_policy)
        .map(Value::String)
        .unwrap_or_else(|| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Json {
        serde_json::from_str(&canonical_policy(s).unwrap()).unwrap()
    }

    #[test]
    fn url_encoded_documents_are_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_policy(encoded),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
        assert_eq!(decode_policy(r#"{"a":"50%"}"#), r#"{"a":"50%"}"#);
        assert_eq!(decode_policy("not json %zz"), "not json %zz");
    }

    #[test]
    fn single_statements_and_strings_become_sorted_lists() {
        let a = canon(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject",
               "Resource":["b","a","a"],"Principal":{"Service":"ecs-tasks.amazonaws.com"},"Sid":""}}"#,
        );
        let b = canon(
            r#"{"Statement":[{"Action":["s3:GetObject"],"Effect":"Allow","Resource":["a","b"],
               "Principal":{"Service":["ecs-tasks.amazonaws.com"]}}],"Version":"2012-10-17"}"#,
        );
        assert_eq!(a, b);
        assert_eq!(a["Statement"][0]["Resource"], serde_json::json!(["a", "b"]));
        assert!(a["Statement"][0].get("Sid").is_none());
    }

    #[test]
    fn condition_values_and_star_principals_compare_by_meaning() {
        let a = canon(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*",
               "Condition":{"Bool":{"aws:SecureTransport":false},"StringEquals":{"k":["y","x"]}}}]}"#,
        );
        let b = canon(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["*"],
               "Condition":{"Bool":{"aws:SecureTransport":"false"},"StringEquals":{"k":["x","y"]}}}]}"#,
        );
        assert_eq!(a, b);
    }

    #[test]
    fn the_normalizer_keeps_what_is_not_a_policy() {
        assert_eq!(normalize_policy(&Value::Null), Value::Null);
        assert_eq!(normalize_policy(&Value::from("x")), Value::from("x"));
        let v = normalize_policy(&Value::from(
            "%7B%22Statement%22%3A%7B%22Action%22%3A%22a%22%7D%7D",
        ));
        assert_eq!(v, Value::from(r#"{"Statement":[{"Action":["a"]}]}"#));
        let v = normalize_policy(&Value::from(
            r#"{"Version":"1","Statement":[{"b":1,"a":2}]}"#,
        ));
        assert_eq!(
            v,
            Value::from(r#"{"Statement":[{"a":2,"b":1}],"Version":"1"}"#)
        );
    }

    #[test]
    fn service_codes_are_classified() {
        assert_eq!(
            reclassify("GetRole", "NoSuchEntity", ""),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            reclassify("AttachRolePolicy", "NoSuchEntity", ""),
            Some(ErrorKind::Transient)
        );
        assert_eq!(
            reclassify("HeadBucket", "NotFound", ""),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            reclassify("DeleteRole", "DeleteConflict", ""),
            Some(ErrorKind::Transient)
        );
        assert_eq!(
            reclassify(
                "CreateRole",
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/x\""
            ),
            Some(ErrorKind::Transient)
        );
        assert_eq!(
            reclassify("CreateRole", "MalformedPolicyDocument", "Syntax errors"),
            None
        );
        assert_eq!(
            reclassify("DescribeLogGroups", "ResourceNotFoundException", ""),
            Some(ErrorKind::NotFound)
        );
    }

    #[test]
    fn ownership_needs_the_stack_identity_and_the_address() {
        use stackd_engine::provider::{STACK_ID_TAG, STACK_TAG};
        let owner = Owner::new("s", "id-1");
        let address: Address = "aws_iam_role.a".parse().unwrap();
        let mut live: BTreeMap<String, String> = BTreeMap::new();
        live.insert(STACK_TAG.into(), "s".into());
        live.insert(ADDRESS_TAG.into(), "aws_iam_role.a".into());
        // Same name, no identity: another copy of the spec, or a lost state.
        assert!(!ours(&live, &owner, &address));
        live.insert(STACK_ID_TAG.into(), "id-2".into());
        assert!(!ours(&live, &owner, &address));
        let msg = conflict("IAM role", "r", &live, &owner);
        assert!(msg.contains("another stack identity (id-2)"), "{msg}");
        live.insert(STACK_ID_TAG.into(), "id-1".into());
        assert!(ours(&live, &owner, &address));
        assert!(!ours(&live, &owner, &"aws_iam_role.b".parse().unwrap()));
    }

    #[test]
    fn fifo_names_end_with_the_suffix() {
        let named = |n: &str| Value::map([("name", Value::from(n))]);
        assert!(fifo_name(&named("a.fifo"), "t", true, "sns", "CreateTopic").is_ok());
        assert!(fifo_name(&named("a"), "t", true, "sns", "CreateTopic").is_err());
        assert!(fifo_name(&named("a.fifo"), "t", false, "sns", "CreateTopic").is_err());
        let prefixed = Value::map([("name_prefix", Value::from("app-"))]);
        let n = fifo_name(&prefixed, "t", true, "sns", "CreateTopic").unwrap_or_default();
        assert!(n.starts_with("app-") && n.ends_with(".fifo"), "{n}");
    }

    #[test]
    fn generated_names_are_stable_per_token() {
        let d = Value::map([("name_prefix", Value::from("app-"))]);
        let a = name_or_generated(&d, "name", "name_prefix", "tok", "stackd-");
        assert_eq!(a, name_or_generated(&d, "name", "name_prefix", "tok", "x"));
        assert!(a.starts_with("app-") && a.len() == 30, "{a}");
        let b = name_or_generated(&Value::Null, "name", "name_prefix", "tok", "stackd-");
        assert!(b.starts_with("stackd-"));
        let named = Value::map([("name", Value::from("fixed"))]);
        assert_eq!(
            name_or_generated(&named, "name", "name_prefix", "t", "x"),
            "fixed"
        );
    }
}
