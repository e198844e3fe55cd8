//! The least-privilege IAM policy a spec needs (`stackd policy`): one table
//! row per resource type and data source, listing the IAM actions its module
//! calls and the narrowest ARN patterns the services allow without knowing
//! names in advance.
//!
//! A row holds every call its module makes to create, read (refresh and
//! `apply --dry-run` checks), update, tag and delete, including the calls of
//! the shared helpers it uses (`tags`, `elbv2_ecs_util`, other types'
//! modules). It also holds the few permissions AWS checks on stackd's behalf
//! without a call of their own, so that the policy works in a fresh account:
//!
//! - `iam:PassRole` wherever a role ARN or instance profile is handed to a
//!   service, limited with `iam:PassedToService` to that service;
//! - tagging on create (`TagSpecifications`, `Tags` on `Create*`), which AWS
//!   authorizes as the service's tag action on the new resource;
//! - `iam:CreateServiceLinkedRole` for the ELB and ECS service-linked roles
//!   those services create on first use, limited to those two role ARNs;
//! - `PassConnection` on CodeStar connections a pipeline source names.
//!
//! Actions whose service supports no resource-level permission (most EC2
//! `Describe*`, `List*`, `sts:GetCallerIdentity`) get `"Resource": "*"`;
//! every other action gets resource patterns only, never a wildcard action.
//! KMS keys named in arguments (`kms_key_id`, `key_id`, ECR encryption) are
//! not covered: their key policies must grant the caller.
//!
//! The unit tests compare the table with the module sources, read at compile
//! time: a new SDK call in a module without its action in the row fails the
//! build's tests.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value as Json};
use stackd_spec::Mode;

/// An ARN pattern with `${partition}`, `${region}` and `${account}`
/// placeholders, and the name it contributes to statement IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArnPattern {
    /// Names the pattern in `Sid`s: `Vpc`, `Role`, `AnyResource`.
    pub label: &'static str,
    /// e.g. `arn:${partition}:ec2:${region}:${account}:vpc/*`.
    pub template: &'static str,
}

/// A condition limiting a grant, e.g. `StringEquals` on
/// `iam:PassedToService`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The condition operator, e.g. `StringEquals`.
    pub operator: &'static str,
    /// The condition key, e.g. `iam:PassedToService`.
    pub key: &'static str,
    /// The values any of which satisfies it.
    pub values: &'static [&'static str],
}

/// Some actions on some resources, maybe under a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// IAM actions, `service:Action`, never a wildcard.
    pub actions: &'static [&'static str],
    /// Where they apply; `*` only for actions without resource-level
    /// permissions.
    pub resources: &'static [ArnPattern],
    pub condition: Option<Condition>,
}

/// What one resource type or data source needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypePermissions {
    /// The type name, as in the provider's registry.
    pub name: &'static str,
    /// A managed resource or a data source (`aws_ssm_parameter` is both).
    pub mode: Mode,
    pub grants: &'static [Grant],
}

impl TypePermissions {
    /// Every action the row grants.
    pub fn actions(&self) -> BTreeSet<&'static str> {
        self.grants
            .iter()
            .flat_map(|g| g.actions.iter().copied())
            .collect()
    }
}

pub(crate) const fn arn(label: &'static str, template: &'static str) -> ArnPattern {
    ArnPattern { label, template }
}

pub(crate) const fn g(actions: &'static [&'static str], resources: &'static [ArnPattern]) -> Grant {
    Grant {
        actions,
        resources,
        condition: None,
    }
}

/// For actions without resource-level permissions.
pub(crate) const ANY: &[ArnPattern] = &[arn("AnyResource", "*")];

/// What every run needs, whatever the spec: the account ID for ARNs and the
/// apply journal.
pub const BASELINE: &[Grant] = &[g(&["sts:GetCallerIdentity"], ANY)];

/// One row per resource type and data source of the provider's registry,
/// taken from their descriptors.
pub static PERMISSIONS: std::sync::LazyLock<Vec<TypePermissions>> =
    std::sync::LazyLock::new(|| {
        let managed = crate::services::resources().map(|t| TypePermissions {
            name: t.name,
            mode: Mode::Managed,
            grants: t.grants,
        });
        let data = crate::services::data_sources().map(|t| TypePermissions {
            name: t.name,
            mode: Mode::Data,
            grants: t.grants,
        });
        managed.chain(data).collect()
    });

/// The rows a type name selects: `data.NAME` is the data source; a bare
/// name is the resource type and the data source of that name, since a
/// set of bare names cannot say which block kind it came from. Names the
/// AWS provider does not serve (`null_resource`) select nothing.
fn rows_for(type_name: &str) -> impl Iterator<Item = &'static TypePermissions> + '_ {
    let (name, only_data) = match type_name.strip_prefix("data.") {
        Some(name) => (name, true),
        None => (type_name, false),
    };
    PERMISSIONS
        .iter()
        .filter(move |row| row.name == name && (!only_data || row.mode == Mode::Data))
}

/// The row of one resource type or data source.
pub fn permissions(type_name: &str, mode: Mode) -> Option<&'static TypePermissions> {
    PERMISSIONS
        .iter()
        .find(|row| row.name == type_name && row.mode == mode)
}

/// True when the AWS provider serves the type (`aws_vpc`, `data.aws_ami`).
pub fn serves(type_name: &str) -> bool {
    rows_for(type_name).next().is_some()
}

/// Where the policy applies. `region` and `account` are `*` when unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyContext {
    /// `aws`, `aws-cn`, `aws-us-gov`...
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl PolicyContext {
    /// The partition follows the region (`aws` when the region is unknown).
    pub fn new(region: Option<&str>, account: Option<&str>) -> PolicyContext {
        let region = region.filter(|r| !r.is_empty()).unwrap_or("*");
        let partition = if region == "*" {
            "aws"
        } else {
            crate::context::Location::new(region).partition
        };
        PolicyContext {
            partition: partition.to_string(),
            region: region.to_string(),
            account: account.filter(|a| !a.is_empty()).unwrap_or("*").to_string(),
        }
    }

    /// The ARN pattern with the placeholders filled in.
    pub fn render(&self, template: &str) -> String {
        template
            .replace("${partition}", &self.partition)
            .replace("${region}", &self.region)
            .replace("${account}", &self.account)
    }
}

/// `(operator, key)` of a grant's condition.
type CondKey = Option<(&'static str, &'static str)>;

/// Statements that grant exactly the union of `grants`: each action goes
/// to one statement per distinct set of resources (and condition values) it
/// applies to, so no action is granted on a resource no grant named.
fn grouped_statements(grants: &[&Grant], ctx: &PolicyContext) -> Vec<Json> {
    // action and condition → resource → condition values.
    let mut atoms: BTreeMap<(&str, CondKey), BTreeMap<ArnPattern, BTreeSet<&str>>> =
        BTreeMap::new();
    for grant in grants {
        let cond = grant.condition.map(|c| (c.operator, c.key));
        for action in grant.actions {
            let by_arn = atoms.entry((action, cond)).or_default();
            for arn in grant.resources {
                let values = by_arn.entry(*arn).or_default();
                if let Some(c) = grant.condition {
                    values.extend(c.values.iter().copied());
                }
            }
        }
    }
    type GroupKey<'a> = (&'a str, CondKey, BTreeSet<&'a str>, BTreeSet<ArnPattern>);
    let mut groups: BTreeMap<GroupKey, BTreeSet<&str>> = BTreeMap::new();
    for ((action, cond), mut by_arn) in atoms {
        // `*` already covers every narrower pattern with no more values.
        if let Some(any_values) = by_arn.get(&ANY[0]).cloned() {
            by_arn.retain(|arn, values| *arn == ANY[0] || !values.is_subset(&any_values));
        }
        let mut by_values: BTreeMap<BTreeSet<&str>, BTreeSet<ArnPattern>> = BTreeMap::new();
        for (arn, values) in by_arn {
            by_values.entry(values).or_default().insert(arn);
        }
        for (values, arns) in by_values {
            groups
                .entry((service_of(action), cond, values, arns))
                .or_default()
                .insert(action);
        }
    }
    let mut used_sids = BTreeSet::new();
    groups
        .into_iter()
        .map(|((service, cond, values, arns), actions)| {
            let sid = unique_sid(statement_sid(service, &arns, cond), &mut used_sids);
            let resources: BTreeSet<String> = arns.iter().map(|a| ctx.render(a.template)).collect();
            let mut statement = Map::new();
            statement.insert("Sid".into(), json!(sid));
            statement.insert("Effect".into(), json!("Allow"));
            statement.insert("Action".into(), json!(actions));
            statement.insert("Resource".into(), json!(resources));
            if let Some((operator, key)) = cond {
                statement.insert("Condition".into(), json!({ operator: { key: values } }));
            }
            Json::Object(statement)
        })
        .collect()
}

/// The IAM service prefix of an action.
fn service_of(action: &str) -> &str {
    action
        .split_once(':')
        .map_or(action, |(service, _)| service)
}

/// `Ec2SubnetVpc`, `IamRoleIfPassedToService`: the service, the resource
/// labels, and the condition key.
fn statement_sid(service: &str, arns: &BTreeSet<ArnPattern>, cond: CondKey) -> String {
    let mut sid = match service {
        "elasticloadbalancing" => "Elb".to_string(),
        "codebuild" => "CodeBuild".to_string(),
        "codepipeline" => "CodePipeline".to_string(),
        "codestar-connections" => "CodeStarConnections".to_string(),
        "codeconnections" => "CodeConnections".to_string(),
        other => camel_case(other),
    };
    for arn in arns {
        sid.push_str(arn.label);
    }
    if let Some((_, key)) = cond {
        sid.push_str("If");
        sid.push_str(&camel_case(
            key.split_once(':').map_or(key, |(_, name)| name),
        ));
    }
    sid
}

/// `ec2` → `Ec2`, `codestar-connections` → `CodestarConnections`; keeps
/// only the alphanumerics a `Sid` may hold.
fn camel_case(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn unique_sid(sid: String, used: &mut BTreeSet<String>) -> String {
    let mut candidate = sid.clone();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        candidate = format!("{sid}{n}");
        n += 1;
    }
    candidate
}

/// Reading, writing and deleting the S3 state backend's objects (`<key>`,
/// `<key>.lock`, `<key>.journal.jsonl`), and listing the bucket so that a
/// missing object answers 404 rather than 403.
fn state_statements(bucket: &str, key: &str, ctx: &PolicyContext) -> Vec<Json> {
    let bucket_arn = format!("arn:{}:s3:::{bucket}", ctx.partition);
    vec![
        json!({
            "Sid": "StackdStateBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
        }),
        json!({
            "Sid": "StackdStateObjects",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [format!("{bucket_arn}/{key}*")],
        }),
    ]
}

/// The policy document that applying, planning, checking and destroying a
/// spec with these types needs: `{"Version":"2012-10-17","Statement":[...]}`
/// with statements sorted by `Sid` and sorted, deduplicated actions and
/// resources. `types` holds resource type names (`aws_vpc`) and data
/// sources as `data.aws_ami`; a bare name that is also a data source's
/// (`aws_ssm_parameter`) takes both rows, and types the AWS provider does
/// not serve (`null_resource`) need nothing. `state_bucket` (bucket, key)
/// adds the S3 state backend's objects.
pub fn policy_document(
    types: &BTreeSet<String>,
    ctx: &PolicyContext,
    state_bucket: Option<(&str, &str)>,
) -> Json {
    let grants: Vec<&Grant> = BASELINE
        .iter()
        .chain(
            types
                .iter()
                .flat_map(|t| rows_for(t))
                .flat_map(|row| row.grants.iter()),
        )
        .collect();
    let mut statements = grouped_statements(&grants, ctx);
    if let Some((bucket, key)) = state_bucket {
        statements.extend(state_statements(bucket, key, ctx));
    }
    statements.sort_by(|a, b| sid_of(a).cmp(sid_of(b)));
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn sid_of(statement: &Json) -> &str {
    statement.get("Sid").and_then(Json::as_str).unwrap_or("")
}

/// The size IAM counts against its policy quotas (6,144 characters for a
/// managed policy, 10,240 for a role's inline policies together): the
/// document's characters without whitespace.
pub fn policy_size(doc: &Json) -> usize {
    doc.to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// IAM's limit on one managed policy's size (see [`policy_size`]).
pub const MANAGED_POLICY_MAX_CHARS: usize = 6_144;

/// The document's statements spread over as few documents as fit in
/// `max_chars` each (as [`policy_size`] counts), keeping their order; a
/// statement larger than the limit gets a document of its own. A role takes
/// several managed policies, and a whole spec's policy is larger than one.
pub fn split_document(doc: &Json, max_chars: usize) -> Vec<Json> {
    let empty = |statements: Vec<Json>| json!({ "Version": "2012-10-17", "Statement": statements });
    let overhead = policy_size(&empty(Vec::new()));
    let mut docs = Vec::new();
    let (mut current, mut size) = (Vec::new(), overhead);
    for statement in doc["Statement"].as_array().into_iter().flatten() {
        // One character more for the comma before it.
        let added = policy_size(statement) + usize::from(!current.is_empty());
        if !current.is_empty() && size + added > max_chars {
            docs.push(empty(std::mem::take(&mut current)));
            size = overhead;
        }
        size += policy_size(statement) + usize::from(!current.is_empty());
        current.push(statement.clone());
    }
    if !current.is_empty() || docs.is_empty() {
        docs.push(empty(current));
    }
    docs
}

/// S3 operations whose IAM action has another name; the first action is
/// the one the operation always needs. Every other operation of the
/// services stackd calls is `service:Operation`.
fn renamed_s3(operation: &str) -> Option<&'static [&'static str]> {
    Some(match operation {
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => &["ListBucket"],
        "ListObjectVersions" => &["ListBucketVersions"],
        "ListBuckets" => &["ListAllMyBuckets"],
        "HeadObject" => &["GetObject"],
        "DeleteObjects" => &["DeleteObject", "DeleteObjectVersion"],
        "CopyObject" => &["PutObject", "GetObject"],
        "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => &["PutObject"],
        "ListMultipartUploads" => &["ListBucketMultipartUploads"],
        "ListParts" => &["ListMultipartUploadParts"],
        "GetBucketLifecycleConfiguration" | "GetBucketLifecycle" => &["GetLifecycleConfiguration"],
        "PutBucketLifecycleConfiguration" | "PutBucketLifecycle" | "DeleteBucketLifecycle" => {
            &["PutLifecycleConfiguration"]
        }
        "GetPublicAccessBlock" => &["GetBucketPublicAccessBlock"],
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => &["PutBucketPublicAccessBlock"],
        "DeleteBucketTagging" => &["PutBucketTagging"],
        "GetBucketEncryption" => &["GetEncryptionConfiguration"],
        "PutBucketEncryption" | "DeleteBucketEncryption" => &["PutEncryptionConfiguration"],
        "GetBucketCors" => &["GetBucketCORS"],
        "PutBucketCors" | "DeleteBucketCors" => &["PutBucketCORS"],
        "DeleteBucketOwnershipControls" => &["PutBucketOwnershipControls"],
        "GetBucketReplication" => &["GetReplicationConfiguration"],
        "PutBucketReplication" | "DeleteBucketReplication" => &["PutReplicationConfiguration"],
        "GetBucketNotificationConfiguration" => &["GetBucketNotification"],
        "PutBucketNotificationConfiguration" => &["PutBucketNotification"],
        "GetObjectLockConfiguration" => &["GetBucketObjectLockConfiguration"],
        "PutObjectLockConfiguration" => &["PutBucketObjectLockConfiguration"],
        "GetBucketAccelerateConfiguration" => &["GetAccelerateConfiguration"],
        "PutBucketAccelerateConfiguration" => &["PutAccelerateConfiguration"],
        "GetBucketAnalyticsConfiguration" | "ListBucketAnalyticsConfigurations" => {
            &["GetAnalyticsConfiguration"]
        }
        "PutBucketAnalyticsConfiguration" | "DeleteBucketAnalyticsConfiguration" => {
            &["PutAnalyticsConfiguration"]
        }
        "GetBucketMetricsConfiguration" | "ListBucketMetricsConfigurations" => {
            &["GetMetricsConfiguration"]
        }
        "PutBucketMetricsConfiguration" | "DeleteBucketMetricsConfiguration" => {
            &["PutMetricsConfiguration"]
        }
        "GetBucketInventoryConfiguration" | "ListBucketInventoryConfigurations" => {
            &["GetInventoryConfiguration"]
        }
        "PutBucketInventoryConfiguration" | "DeleteBucketInventoryConfiguration" => {
            &["PutInventoryConfiguration"]
        }
        _ => return None,
    })
}

fn renamed(service: &str, operation: &str) -> Option<&'static [&'static str]> {
    match service {
        "s3" => renamed_s3(operation),
        // The SDK method `associate_vpc_with_hosted_zone` reads back as
        // `AssociateVpc...`; the operation and action spell `VPC`.
        "route53" if operation.eq_ignore_ascii_case("AssociateVPCWithHostedZone") => {
            Some(&["AssociateVPCWithHostedZone"])
        }
        _ => None,
    }
}

/// Every IAM action one SDK operation may need, as the call log records it
/// (`service` is the IAM prefix, `operation` the SDK operation name), the
/// one it always needs first: `("s3", "DeleteObjects")` needs
/// `s3:DeleteObject`, and `s3:DeleteObjectVersion` for versions.
pub fn iam_actions(service: &str, operation: &str) -> Vec<String> {
    match renamed(service, operation) {
        Some(names) => names.iter().map(|n| format!("{service}:{n}")).collect(),
        None => vec![format!("{service}:{}", spelled(service, operation))],
    }
}

/// The operation as its IAM action spells it: the SDK method
/// `create_db_instance` reads back as `CreateDbInstance`, and RDS's
/// operations and actions spell `DB` (`rds:CreateDBInstance`).
fn spelled<'a>(service: &str, operation: &'a str) -> std::borrow::Cow<'a, str> {
    if service == "rds" && operation.contains("Db") {
        std::borrow::Cow::Owned(operation.replace("Db", "DB"))
    } else if service == "iam" && operation.contains("OpenIdConnect") {
        // `create_open_id_connect_provider` is `iam:CreateOpenIDConnectProvider`,
        // `add_client_id_to_...` is `iam:AddClientIDTo...`.
        std::borrow::Cow::Owned(
            operation
                .replace("OpenIdConnect", "OpenIDConnect")
                .replace("ClientId", "ClientID"),
        )
    } else {
        std::borrow::Cow::Borrowed(operation)
    }
}

/// The IAM action one SDK operation always needs: mostly
/// `service:Operation`, but `("s3", "HeadBucket")` is `s3:ListBucket`.
pub fn iam_action(service: &str, operation: &str) -> String {
    match renamed(service, operation).and_then(|names| names.first()) {
        Some(name) => format!("{service}:{name}"),
        None => format!("{service}:{}", spelled(service, operation)),
    }
}

/// Whether the document grants `action`: some `Allow` statement's `Action`
/// (a string or a list, with IAM's `*` and `?` wildcards, compared without
/// case as IAM does) covers it, and no unconditional `Deny` on every
/// resource does. Resources and conditions are not evaluated: this answers
/// whether the action is granted at all.
pub fn allows(doc: &Json, action: &str) -> bool {
    let statements: Vec<&Json> = match doc.get("Statement") {
        Some(Json::Array(list)) => list.iter().collect(),
        Some(one @ Json::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let covers = |statement: &Json| {
        statement
            .get("Action")
            .is_some_and(|patterns| strings(patterns).any(|p| wildcard_match(p, action)))
    };
    let denied_everywhere = |statement: &Json| {
        effect(statement) == Some("Deny")
            && statement.get("Condition").is_none()
            && statement
                .get("Resource")
                .is_some_and(|r| strings(r).any(|p| p == "*"))
            && covers(statement)
    };
    !statements.iter().any(|s| denied_everywhere(s))
        && statements
            .iter()
            .any(|s| effect(s) == Some("Allow") && covers(s))
}

fn effect(statement: &Json) -> Option<&str> {
    statement.get("Effect").and_then(Json::as_str)
}

/// A string or the strings of a list.
fn strings(v: &Json) -> impl Iterator<Item = &str> {
    let items: Vec<&str> = match v {
        Json::String(s) => vec![s.as_str()],
        Json::Array(list) => list.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    items.into_iter()
}

/// IAM's action matching: `*` is any run of characters, `?` one character,
/// letters compare without case.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and the text position it was tried at.
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((star, at)) => {
                    pi = star + 1;
                    ti = at + 1;
                    backtrack = Some((star, at + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::iam::ROLE;
    use crate::services::logs::LOG_GROUP;

    /// The SDK client fields of `Aws` and their IAM prefixes, from the
    /// service definitions.
    fn clients() -> Vec<(&'static str, &'static str)> {
        crate::services::SERVICES
            .iter()
            .map(|s| (s.client, s.iam_prefix))
            .collect()
    }

    /// A source file of this crate, read from the checkout: `path` as
    /// `file!()` gives it, or relative to `src/`.
    fn read_source(path: &str) -> String {
        let rel = path.rfind("src/").map_or(path, |at| &path[at..]);
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    /// The file stem a module is named by (`services/ec2/mod.rs` is `ec2`).
    fn stem_of(path: &str) -> String {
        let p = std::path::Path::new(path);
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem == "mod" {
            let parent = p.parent().and_then(|d| d.file_name());
            parent.and_then(|s| s.to_str()).unwrap_or("").to_string()
        } else {
            stem.to_string()
        }
    }

    /// Every registered type's file: (type, mode, file stem, source, path
    /// under `src/`), found through the registry, so no list is kept here.
    fn modules() -> Vec<(&'static str, Mode, String, String, String)> {
        let managed = crate::services::resources().map(|t| (t.name, Mode::Managed, t.source));
        let data = crate::services::data_sources().map(|t| (t.name, Mode::Data, t.source));
        managed
            .chain(data)
            .map(|(name, mode, path)| {
                let rel = path.rfind("src/").map_or(path, |at| &path[at..]);
                (
                    name,
                    mode,
                    stem_of(path),
                    read_source(path),
                    rel.to_string(),
                )
            })
            .collect()
    }

    /// Every `.rs` file under `src/`, relative to the crate.
    fn all_sources() -> Vec<String> {
        fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    walk(&path, base, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let rel = path.strip_prefix(base).unwrap_or(&path);
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        walk(&base.join("src"), base, &mut out);
        out
    }

    /// Shared files whose functions the types call: every source file that
    /// is not a type's own, (file stem, source).
    fn helpers() -> Vec<(String, String)> {
        let own: BTreeSet<String> = modules().into_iter().map(|m| m.4).collect();
        all_sources()
            .into_iter()
            .filter(|path| !own.contains(path) && !path.ends_with("policy.rs"))
            .map(|path| (stem_of(&path), read_source(&path)))
            .collect()
    }

    fn is_ident(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_'
    }

    /// The source before its unit tests.
    fn without_tests(src: &str) -> &str {
        src.find("#[cfg(test)]\nmod tests")
            .map_or(src, |end| &src[..end])
    }

    fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    }

    fn ident_at(b: &[u8], i: usize) -> (&str, usize) {
        let mut end = i;
        while end < b.len() && is_ident(b[end]) {
            end += 1;
        }
        (std::str::from_utf8(&b[i..end]).unwrap_or(""), end)
    }

    /// `describe_vpcs` → `DescribeVpcs`.
    fn operation_name(method: &str) -> String {
        camel_case(method)
    }

    /// The IAM actions of every `.<client>.<operation>(` call in `src`.
    fn sdk_calls(src: &str) -> BTreeSet<String> {
        let b = src.as_bytes();
        let mut actions = BTreeSet::new();
        for (dot, _) in src.match_indices('.') {
            let (client, after) = ident_at(b, skip_ws(b, dot + 1));
            let Some((_, prefix)) = clients().into_iter().find(|(field, _)| *field == client)
            else {
                continue;
            };
            let next = skip_ws(b, after);
            if b.get(next) != Some(&b'.') {
                continue;
            }
            let (method, after) = ident_at(b, skip_ws(b, next + 1));
            if method.is_empty() || b.get(skip_ws(b, after)) != Some(&b'(') {
                continue;
            }
            actions.extend(iam_actions(prefix, &operation_name(method)));
        }
        actions
    }

    /// `src` with the insides of comments, strings and character literals
    /// blanked (lengths and lines kept), so that only code is searched.
    fn code_only(src: &str) -> String {
        let b = src.as_bytes();
        let mut out = b.to_vec();
        let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
            for c in &mut out[from..to.min(b.len())] {
                if *c != b'\n' {
                    *c = b' ';
                }
            }
        };
        let mut i = 0;
        while i < b.len() {
            let prev_ident = i > 0 && is_ident(b[i - 1]);
            if b[i..].starts_with(b"//") {
                let end = src[i..].find('\n').map_or(b.len(), |e| i + e);
                blank(&mut out, i, end);
                i = end;
            } else if b[i..].starts_with(b"/*") {
                let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + e + 4);
                blank(&mut out, i, end);
                i = end;
            } else if b[i] == b'r' && !prev_ident && matches!(b.get(i + 1), Some(b'#' | b'"')) {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = src[start..].find(&close).map_or(b.len(), |e| start + e);
                blank(&mut out, start, end);
                i = end + close.len();
            } else if b[i] == b'"' {
                let mut end = i + 1;
                while end < b.len() && b[end] != b'"' {
                    end += if b[end] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, end);
                i = end + 1;
            } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
                blank(&mut out, i + 1, i + 2);
                i += 3;
            } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') && b.get(i + 3) == Some(&b'\'')
            {
                blank(&mut out, i + 1, i + 3);
                i += 4;
            } else {
                i += 1;
            }
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// The end of the block opening at `open` in code without literals.
    fn block_end(b: &[u8], open: usize) -> usize {
        let mut depth = 0usize;
        for (i, c) in b.iter().enumerate().skip(open) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        b.len()
    }

    /// A function of a file: its name, whether other modules may call it,
    /// and its body.
    struct Function<'a> {
        name: &'a str,
        public: bool,
        /// From `fn` to the closing brace.
        body: &'a str,
        /// Makes the read of whichever `preflight::Ec2Ref` kind it is
        /// given: it takes one, or is one of its methods.
        dispatch: bool,
    }

    /// Every function with a body in `code` (as [`code_only`] gives it).
    fn functions(code: &str) -> Vec<Function<'_>> {
        let b = code.as_bytes();
        let ref_impls: Vec<(usize, usize)> = code
            .match_indices("impl Ec2Ref {")
            .map(|(at, m)| (at, block_end(b, at + m.len() - 1)))
            .collect();
        let mut out = Vec::new();
        for (at, _) in code.match_indices("fn ") {
            if at > 0 && is_ident(b[at - 1]) {
                continue;
            }
            let (name, after) = ident_at(b, at + 3);
            if name.is_empty() {
                continue;
            }
            let Some(open) = code[after..].find(['{', ';']).map(|o| after + o) else {
                continue;
            };
            if b[open] == b';' {
                continue;
            }
            let line_start = code[..at].rfind('\n').map_or(0, |l| l + 1);
            out.push(Function {
                name,
                public: code[line_start..at].contains("pub"),
                body: &code[at..block_end(b, open)],
                dispatch: mentions(&code[at..open], "Ec2Ref")
                    || ref_impls
                        .iter()
                        .any(|(from, to)| (*from..*to).contains(&at)),
            });
        }
        out
    }

    /// True when `word` occurs in `text` as a whole identifier, and not as
    /// a method (`.check(` is no call of a function `check`).
    fn mentions(text: &str, word: &str) -> bool {
        let b = text.as_bytes();
        text.match_indices(word).any(|(at, _)| {
            let end = at + word.len();
            let before = text[..at].trim_end().as_bytes().last();
            (at == 0 || !is_ident(b[at - 1]))
                && (end == b.len() || !is_ident(b[end]))
                && before != Some(&b'.')
        })
    }

    /// The calls `code` makes itself: its SDK calls, and the reads of the
    /// `Ec2Ref::Kind`s it names (`Ec2Ref::Subnet` is `ec2:DescribeSubnets`).
    fn own_calls(code: &str) -> BTreeSet<String> {
        let mut calls = sdk_calls(code);
        for (kind, read) in ec2_ref_reads() {
            if mentions(code, &format!("Ec2Ref::{kind}")) {
                calls.insert(read);
            }
        }
        calls
    }

    /// Each public function's calls, with those of the same file's
    /// functions it mentions. A dispatch on `Ec2Ref` counts as no call: its
    /// callers name the kinds.
    fn calls_by_public_function(code: &str) -> BTreeMap<&str, BTreeSet<String>> {
        let fns = functions(code);
        let mut calls: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for f in &fns {
            let own = calls.entry(f.name).or_default();
            if !f.dispatch {
                own.extend(own_calls(f.body));
            }
        }
        loop {
            let mut grew = false;
            for f in &fns {
                let mut extra = BTreeSet::new();
                for (other, other_calls) in &calls {
                    if *other != f.name && mentions(&f.body[3..], other) {
                        extra.extend(other_calls.iter().cloned());
                    }
                }
                let own = calls.entry(f.name).or_default();
                let before = own.len();
                own.extend(extra);
                grew |= own.len() > before;
            }
            if !grew {
                break;
            }
        }
        let public: BTreeSet<&str> = fns.iter().filter(|f| f.public).map(|f| f.name).collect();
        calls.retain(|name, calls| public.contains(name) && !calls.is_empty());
        calls
    }

    /// The read each `Ec2Ref` kind makes, from preflight's
    /// `Ec2Ref::Subnet => "DescribeSubnets"` match arms.
    fn ec2_ref_reads() -> BTreeMap<String, String> {
        let lookups = read_source("src/services/ec2/lookups.rs");
        let src = without_tests(&lookups);
        let b = src.as_bytes();
        let mut reads = BTreeMap::new();
        for (at, _) in src.match_indices("Ec2Ref::") {
            let (kind, after) = ident_at(b, at + "Ec2Ref::".len());
            let arrow = skip_ws(b, after);
            if !src[arrow..].starts_with("=>") {
                continue;
            }
            let quote = skip_ws(b, arrow + 2);
            let (operation, _) = ident_at(b, quote + 1);
            if b.get(quote) == Some(&b'"') && operation.starts_with("Describe") {
                reads.insert(kind.to_string(), format!("ec2:{operation}"));
            }
        }
        reads
    }

    fn row(name: &str, mode: Mode) -> &'static TypePermissions {
        permissions(name, mode).unwrap_or_else(|| panic!("no row for {name} ({mode:?})"))
    }

    fn granted(name: &str, mode: Mode) -> BTreeSet<&'static str> {
        let mut actions = row(name, mode).actions();
        actions.extend(BASELINE.iter().flat_map(|g| g.actions.iter().copied()));
        actions
    }

    #[test]
    fn every_registered_type_has_exactly_one_row() {
        let registered: BTreeSet<(&str, Mode)> = crate::services::resources()
            .map(|r| (r.name, Mode::Managed))
            .chain(crate::services::data_sources().map(|d| (d.name, Mode::Data)))
            .collect();
        let rows: Vec<(&str, Mode)> = PERMISSIONS.iter().map(|r| (r.name, r.mode)).collect();
        let unique: BTreeSet<(&str, Mode)> = rows.iter().copied().collect();
        assert_eq!(unique.len(), rows.len(), "a type is registered twice");
        assert_eq!(unique, registered);
    }

    /// Every file under `services/` is a service's `mod.rs`, a registered
    /// type's own file, or a service's shared helpers: a type file left
    /// out of the registry would escape the permission tests.
    #[test]
    fn every_type_file_is_registered() {
        let own: BTreeSet<String> = modules().into_iter().map(|m| m.4).collect();
        let mut stray = Vec::new();
        for path in all_sources() {
            if !path.starts_with("src/services/") || path.ends_with("/mod.rs") {
                continue;
            }
            let src = read_source(&path);
            let descriptor =
                src.contains("static TYPE: ManagedType") || src.contains("static DATA: DataSource");
            if descriptor != own.contains(&path) {
                stray.push(path);
            }
        }
        assert!(
            stray.is_empty(),
            "type files not in the registry: {stray:?}"
        );
    }

    /// Every SDK client `Aws` holds belongs to a service definition, so
    /// that the scanner below sees that client's calls.
    #[test]
    fn every_client_of_aws_has_a_service() {
        let context = read_source("src/context.rs");
        let start = context.find("pub(crate) struct Aws {").expect("struct Aws");
        let body = &context[start..start + context[start..].find("\n}").expect("end")];
        let fields: BTreeSet<&str> = body
            .lines()
            .filter(|l| l.contains("::Client,"))
            .filter_map(|l| l.trim().strip_prefix("pub ")?.split(':').next())
            .collect();
        assert!(
            fields.contains("ec2") && fields.contains("elbv2"),
            "{fields:?}"
        );
        let served: BTreeSet<&str> = clients().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, served, "a client without a service definition");
    }

    #[test]
    fn each_row_grants_every_call_its_module_makes() {
        let mut missing = Vec::new();
        for (name, mode, _, src, _) in modules() {
            for action in own_calls(&code_only(without_tests(&src))) {
                if !granted(name, mode).contains(action.as_str()) {
                    missing.push(format!("{name} ({mode:?}) calls {action}"));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:#?}");
    }

    /// True when `src` names the module `stem` (`tags::`, `super::lb::`).
    fn names_module(src: &str, stem: &str) -> bool {
        src.match_indices(&format!("{stem}::"))
            .any(|(at, _)| at == 0 || !is_ident(src.as_bytes()[at - 1]))
    }

    #[test]
    fn each_row_grants_the_calls_of_the_helpers_its_module_uses() {
        let modules = modules();
        let files = helpers().into_iter().chain(
            modules
                .iter()
                .map(|(_, _, stem, src, _)| (stem.clone(), src.clone())),
        );
        let users: Vec<(&str, Mode, &str, String)> = modules
            .iter()
            .map(|(name, mode, stem, src, _)| {
                (*name, *mode, stem.as_str(), code_only(without_tests(src)))
            })
            .collect();
        let mut missing = BTreeSet::new();
        for (stem, src) in files {
            let code = code_only(without_tests(&src));
            for (function, calls) in calls_by_public_function(&code) {
                for (name, mode, user_stem, user) in &users {
                    if *user_stem == stem || !mentions(user, function) || !names_module(user, &stem)
                    {
                        continue;
                    }
                    for action in &calls {
                        if !granted(name, *mode).contains(action.as_str()) {
                            missing.insert(format!(
                                "{name} uses {stem}::{function}, which calls {action}"
                            ));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{missing:#?}");
    }

    /// The whole policy of every type, as a security reviewer reads it.
    #[test]
    fn the_policy_of_every_type() {
        let all: BTreeSet<String> = PERMISSIONS
            .iter()
            .map(|r| match r.mode {
                Mode::Managed => r.name.to_string(),
                Mode::Data => format!("data.{}", r.name),
            })
            .collect();
        let ctx = PolicyContext::new(Some("eu-west-1"), Some("123456789012"));
        let doc = policy_document(&all, &ctx, None);
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn ec2_reference_kinds_are_read_from_preflight() {
        let reads = ec2_ref_reads();
        assert_eq!(
            reads.get("Subnet").map(String::as_str),
            Some("ec2:DescribeSubnets")
        );
        assert_eq!(
            own_calls("check(Ec2Ref::Vpc, &ids); aws.ec2.describe_images()"),
            BTreeSet::from([
                "ec2:DescribeImages".to_string(),
                "ec2:DescribeVpcs".to_string()
            ])
        );
    }

    #[test]
    fn the_source_scanner_finds_chained_calls_only() {
        let src = "let out = aws\n    .ec2\n    .describe_vpcs()\n    .send();\n\
                   self.s3.head_bucket().bucket(b);\n\
                   logs.cloud_watch_logs(x); r.ec2(\"CreateTags\"); pass(&aws.iam, 1);";
        assert_eq!(
            sdk_calls(src),
            BTreeSet::from(["ec2:DescribeVpcs".to_string(), "s3:ListBucket".to_string()])
        );
        let code = code_only(
            "pub fn a() { let s = \"}\"; b() } // }\nasync fn b(x: u8) -> u8 { '}' }\nfn c();",
        );
        let fns = functions(&code);
        let names: Vec<(&str, bool)> = fns.iter().map(|f| (f.name, f.public)).collect();
        assert_eq!(names, vec![("a", true), ("b", false)]);
        assert!(fns[0].body.ends_with("b() }"));
    }

    #[test]
    fn actions_are_plain_service_action_names() {
        for row in PERMISSIONS.iter() {
            for grant in row.grants {
                assert!(!grant.resources.is_empty(), "{}", row.name);
                for action in grant.actions {
                    let (service, name) = action.split_once(':').unwrap_or(("", ""));
                    assert!(
                        !service.is_empty()
                            && service
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                            && name.starts_with(|c: char| c.is_ascii_uppercase())
                            && name.chars().all(|c| c.is_ascii_alphanumeric()),
                        "{}: {action}",
                        row.name
                    );
                }
            }
        }
    }

    /// Actions the Service Authorization Reference lists without a resource
    /// type, beyond the `Describe*` and `List*` reads.
    const STAR_ONLY: &[&str] = &[
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "iam:GetAccountAuthorizationDetails",
        "kms:CreateKey",
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "route53:CreateHostedZone",
        "servicediscovery:CreatePrivateDnsNamespace",
        "servicediscovery:GetOperation",
        "sns:GetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
        "sns:Unsubscribe",
        "sts:GetCallerIdentity",
        "tag:GetResources",
    ];

    #[test]
    fn only_actions_without_resource_level_permissions_get_a_star() {
        for row in PERMISSIONS.iter().map(|r| r.grants).chain([BASELINE]) {
            for grant in row.iter().filter(|g| g.resources.contains(&ANY[0])) {
                assert_eq!(grant.resources, ANY, "`*` beside narrower patterns");
                assert!(grant.condition.is_none());
                for action in grant.actions {
                    let name = action.split_once(':').map_or("", |(_, n)| n);
                    assert!(
                        name.starts_with("Describe")
                            || name.starts_with("List")
                            || STAR_ONLY.contains(action),
                        "{action} on `*`"
                    );
                }
            }
        }
    }

    #[test]
    fn every_pattern_fills_in_and_names_its_service() {
        let ctx = PolicyContext::new(Some("eu-west-1"), Some("123456789012"));
        for row in PERMISSIONS.iter().map(|r| r.grants).chain([BASELINE]) {
            for grant in row {
                for arn in grant.resources {
                    let rendered = ctx.render(arn.template);
                    assert!(!rendered.contains('$'), "{rendered}");
                    assert!(
                        !arn.label.is_empty()
                            && arn.label.chars().all(|c| c.is_ascii_alphanumeric())
                    );
                    if arn.template == "*" {
                        continue;
                    }
                    assert!(
                        crate::services::SERVICES
                            .iter()
                            .any(|s| s.arns.contains(arn)),
                        "{} is in no service definition",
                        arn.label
                    );
                    let service = rendered.split(':').nth(2).unwrap_or("");
                    assert!(rendered.starts_with("arn:aws:"), "{rendered}");
                    // No action here is checked against another service's
                    // resources.
                    for action in grant.actions {
                        assert_eq!(service_of(action), service, "{action} on {rendered}");
                    }
                }
            }
        }
    }

    #[test]
    fn sdk_operations_map_to_their_iam_actions() {
        for (service, operation, action) in [
            ("ec2", "DescribeVpcs", "ec2:DescribeVpcs"),
            (
                "elasticloadbalancing",
                "CreateLoadBalancer",
                "elasticloadbalancing:CreateLoadBalancer",
            ),
            ("sts", "GetCallerIdentity", "sts:GetCallerIdentity"),
            ("s3", "CreateBucket", "s3:CreateBucket"),
            ("s3", "HeadBucket", "s3:ListBucket"),
            ("s3", "HeadObject", "s3:GetObject"),
            ("s3", "GetObject", "s3:GetObject"),
            ("s3", "PutObject", "s3:PutObject"),
            ("s3", "ListObjectsV2", "s3:ListBucket"),
            ("s3", "ListObjectVersions", "s3:ListBucketVersions"),
            (
                "s3",
                "GetBucketLifecycleConfiguration",
                "s3:GetLifecycleConfiguration",
            ),
            (
                "s3",
                "PutBucketLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
            ),
            (
                "s3",
                "DeleteBucketLifecycle",
                "s3:PutLifecycleConfiguration",
            ),
            (
                "s3",
                "GetPublicAccessBlock",
                "s3:GetBucketPublicAccessBlock",
            ),
            (
                "s3",
                "PutPublicAccessBlock",
                "s3:PutBucketPublicAccessBlock",
            ),
            (
                "s3",
                "DeletePublicAccessBlock",
                "s3:PutBucketPublicAccessBlock",
            ),
            ("s3", "DeleteBucketTagging", "s3:PutBucketTagging"),
            ("s3", "GetBucketVersioning", "s3:GetBucketVersioning"),
            ("s3", "DeleteObjects", "s3:DeleteObject"),
            ("rds", "CreateDbInstance", "rds:CreateDBInstance"),
            ("rds", "DescribeDBParameters", "rds:DescribeDBParameters"),
            ("rds", "ListTagsForResource", "rds:ListTagsForResource"),
            (
                "iam",
                "AddClientIdToOpenIdConnectProvider",
                "iam:AddClientIDToOpenIDConnectProvider",
            ),
        ] {
            assert_eq!(
                iam_action(service, operation),
                action,
                "{service} {operation}"
            );
            assert_eq!(iam_actions(service, operation)[0], action);
        }
        assert_eq!(
            iam_actions("s3", "DeleteObjects"),
            vec!["s3:DeleteObject", "s3:DeleteObjectVersion"]
        );
        // Only S3 renames: an ELB `DescribeTags` is not S3's.
        assert_eq!(iam_action("ec2", "HeadBucket"), "ec2:HeadBucket");
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        for (pattern, action, matches) in [
            ("ec2:DescribeVpcs", "ec2:DescribeVpcs", true),
            ("EC2:describevpcs", "ec2:DescribeVpcs", true),
            ("ec2:Describe*", "ec2:DescribeVpcs", true),
            ("ec2:*", "ec2:CreateVpc", true),
            ("*", "s3:GetObject", true),
            ("ec2:Describe*", "ec2:CreateVpc", false),
            ("ec2:*Vpc", "ec2:CreateVpc", true),
            ("ec2:*Vpc", "ec2:CreateVpcs", false),
            ("s3:Get?bject", "s3:GetObject", true),
            ("s3:Get?bject", "s3:GetObbject", false),
            ("s3:*Object*", "s3:DeleteObjectVersion", true),
            ("ec2:CreateVpc", "ec2:CreateVpcEndpoint", false),
            ("ec2:Create", "ec2:CreateVpc", false),
            ("", "ec2:CreateVpc", false),
        ] {
            assert_eq!(
                wildcard_match(pattern, action),
                matches,
                "{pattern} {action}"
            );
        }
    }

    #[test]
    fn allows_reads_string_and_list_actions_and_unconditional_denies() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:GetObject", "iam:*Role"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:DeleteRole", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"},
        ]});
        assert!(allows(&doc, "ec2:DescribeVpcs"));
        assert!(allows(&doc, "S3:getobject"));
        assert!(allows(&doc, "iam:CreateRole"));
        assert!(!allows(&doc, "iam:DeleteRole"));
        assert!(!allows(&doc, "ec2:CreateVpc"));
        let single = json!({"Statement": {"Effect": "Allow", "Action": "sts:*"}});
        assert!(allows(&single, "sts:GetCallerIdentity"));
        assert!(!allows(&json!({}), "sts:GetCallerIdentity"));
    }

    fn ctx() -> PolicyContext {
        PolicyContext::new(Some("eu-west-1"), Some("123456789012"))
    }

    fn names(types: &[&str]) -> BTreeSet<String> {
        types.iter().map(|t| t.to_string()).collect()
    }

    fn statements(doc: &Json) -> &Vec<Json> {
        doc["Statement"].as_array().expect("a statement list")
    }

    fn statement<'a>(doc: &'a Json, sid: &str) -> &'a Json {
        statements(doc)
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid} in {doc:#}"))
    }

    #[test]
    fn the_document_has_iam_shape_sorted_and_without_duplicates() {
        let all: BTreeSet<String> = PERMISSIONS.iter().map(|r| r.name.to_string()).collect();
        let doc = policy_document(&all, &ctx(), Some(("state-bucket", "env/prod.json")));
        assert_eq!(doc["Version"], "2012-10-17");
        let mut sids = Vec::new();
        for s in statements(&doc) {
            let sid = s["Sid"].as_str().expect("a Sid");
            assert!(
                !sid.is_empty() && sid.chars().all(|c| c.is_ascii_alphanumeric()),
                "{sid}"
            );
            sids.push(sid.to_string());
            assert_eq!(s["Effect"], "Allow");
            for key in ["Action", "Resource"] {
                let list: Vec<&str> = s[key]
                    .as_array()
                    .expect(key)
                    .iter()
                    .filter_map(Json::as_str)
                    .collect();
                assert!(!list.is_empty(), "{sid} {key}");
                let mut sorted = list.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted, list, "{sid} {key}");
            }
            for action in s["Action"].as_array().into_iter().flatten() {
                let action = action.as_str().unwrap_or("");
                assert!(!action.contains('*') && !action.contains('?'), "{action}");
            }
        }
        let mut sorted = sids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, sids, "Sids unique and in order");
        // Unconditioned actions each sit in one statement.
        let mut seen = BTreeSet::new();
        for s in statements(&doc)
            .iter()
            .filter(|s| s.get("Condition").is_none())
        {
            for action in s["Action"].as_array().into_iter().flatten() {
                let sid = s["Sid"].as_str().unwrap_or("");
                if !sid.starts_with("Stackd") {
                    assert!(seen.insert(action.to_string()), "{action} twice");
                }
            }
        }
    }

    #[test]
    fn the_document_is_the_same_for_the_same_types() {
        let a = policy_document(&names(&["aws_vpc", "aws_subnet", "aws_lb"]), &ctx(), None);
        let b = policy_document(
            &names(&["aws_lb", "aws_subnet", "aws_vpc", "aws_vpc"]),
            &ctx(),
            None,
        );
        assert_eq!(a.to_string(), b.to_string());
    }

    #[test]
    fn the_caller_identity_is_always_granted() {
        let doc = policy_document(&BTreeSet::new(), &ctx(), None);
        assert_eq!(
            doc,
            json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "StsAnyResource", "Effect": "Allow",
                "Action": ["sts:GetCallerIdentity"], "Resource": ["*"],
            }]})
        );
        // Types another provider serves need nothing here.
        assert_eq!(
            policy_document(&names(&["null_resource"]), &ctx(), None),
            doc
        );
        assert!(!serves("null_resource"));
    }

    #[test]
    fn one_action_on_two_patterns_is_granted_on_both_only() {
        let doc = policy_document(&names(&["aws_vpc", "aws_subnet"]), &ctx(), None);
        let tags = statement(&doc, "Ec2SubnetVpc");
        assert_eq!(
            tags["Resource"],
            json!([
                "arn:aws:ec2:eu-west-1:123456789012:subnet/*",
                "arn:aws:ec2:eu-west-1:123456789012:vpc/*",
            ])
        );
        assert_eq!(
            tags["Action"],
            json!(["ec2:CreateSubnet", "ec2:CreateTags", "ec2:DeleteTags"])
        );
        let vpc_only = statement(&doc, "Ec2Vpc");
        assert!(vpc_only["Action"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("ec2:CreateVpc"))));
        assert_eq!(
            vpc_only["Resource"],
            json!(["arn:aws:ec2:eu-west-1:123456789012:vpc/*"])
        );
        assert_eq!(
            statement(&doc, "Ec2AnyResource")["Action"],
            json!([
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ])
        );
    }

    #[test]
    fn roles_are_passed_only_to_the_services_that_need_them() {
        let doc = policy_document(
            &names(&[
                "aws_ecs_task_definition",
                "aws_codebuild_project",
                "aws_iam_role",
            ]),
            &ctx(),
            None,
        );
        let pass = statement(&doc, "IamRoleIfPassedToService");
        assert_eq!(pass["Action"], json!(["iam:PassRole"]));
        assert_eq!(
            pass["Resource"],
            json!(["arn:aws:iam::123456789012:role/*"])
        );
        assert_eq!(
            pass["Condition"],
            json!({"StringEquals": {"iam:PassedToService": [
                "codebuild.amazonaws.com", "ecs-tasks.amazonaws.com",
            ]}})
        );
        assert!(!statement(&doc, "IamRole")["Action"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("iam:PassRole"))));
        let without = policy_document(&names(&["aws_iam_role"]), &ctx(), None);
        assert!(allows(&without, "iam:CreateRole"));
        assert!(!allows(&without, "iam:PassRole"));
    }

    #[test]
    fn data_sources_are_named_with_a_data_prefix() {
        let data_only = policy_document(&names(&["data.aws_ssm_parameter"]), &ctx(), None);
        assert!(allows(&data_only, "ssm:GetParameter"));
        assert!(!allows(&data_only, "ssm:PutParameter"));
        assert_eq!(
            statement(&data_only, "SsmAwsPublicParameterParameter")["Resource"],
            json!([
                "arn:aws:ssm:eu-west-1:123456789012:parameter/*",
                "arn:aws:ssm:eu-west-1::parameter/aws/service/*",
            ])
        );
        // A bare name cannot say which kind it is: both rows.
        let both = policy_document(&names(&["aws_ssm_parameter"]), &ctx(), None);
        assert!(allows(&both, "ssm:GetParameter") && allows(&both, "ssm:PutParameter"));
        let data = policy_document(&names(&["aws_ami"]), &ctx(), None);
        assert!(allows(&data, "ec2:DescribeImages"));
        assert!(serves("data.aws_ami") && serves("aws_ami") && !serves("data.aws_lambda_function"));
    }

    #[test]
    fn the_state_bucket_grants_its_three_objects_and_the_listing() {
        let doc = policy_document(
            &BTreeSet::new(),
            &ctx(),
            Some(("tf-state", "prod/stackd.json")),
        );
        assert_eq!(
            statement(&doc, "StackdStateObjects"),
            &json!({
                "Sid": "StackdStateObjects", "Effect": "Allow",
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": ["arn:aws:s3:::tf-state/prod/stackd.json*"],
            })
        );
        assert_eq!(
            statement(&doc, "StackdStateBucket")["Resource"],
            json!(["arn:aws:s3:::tf-state"])
        );
    }

    #[test]
    fn unknown_region_and_account_become_wildcards_in_the_partition() {
        let unknown = PolicyContext::new(None, None);
        assert_eq!(
            (
                unknown.partition.as_str(),
                unknown.region.as_str(),
                unknown.account.as_str()
            ),
            ("aws", "*", "*")
        );
        assert_eq!(
            unknown.render(LOG_GROUP.template),
            "arn:aws:logs:*:*:log-group:*"
        );
        let china = PolicyContext::new(Some("cn-north-1"), Some(""));
        assert_eq!(china.partition, "aws-cn");
        assert_eq!(china.render(ROLE.template), "arn:aws-cn:iam::*:role/*");
    }

    #[test]
    fn every_action_of_every_row_is_allowed_by_its_document() {
        for row in PERMISSIONS.iter() {
            let key = match row.mode {
                Mode::Managed => row.name.to_string(),
                Mode::Data => format!("data.{}", row.name),
            };
            let doc = policy_document(&names(&[&key]), &ctx(), None);
            for action in row.actions() {
                assert!(allows(&doc, action), "{key}: {action}");
            }
        }
    }

    #[test]
    fn a_large_document_splits_into_documents_within_the_limit() {
        let all: BTreeSet<String> = PERMISSIONS.iter().map(|r| r.name.to_string()).collect();
        let doc = policy_document(&all, &ctx(), Some(("b", "k")));
        assert!(policy_size(&doc) > MANAGED_POLICY_MAX_CHARS);
        let parts = split_document(&doc, MANAGED_POLICY_MAX_CHARS);
        assert!(parts.len() > 1);
        let mut rejoined = Vec::new();
        for part in &parts {
            assert!(
                policy_size(part) <= MANAGED_POLICY_MAX_CHARS,
                "{}",
                policy_size(part)
            );
            assert_eq!(part["Version"], "2012-10-17");
            rejoined.extend(statements(part).iter().cloned());
        }
        assert_eq!(&rejoined, statements(&doc));
        // A small one stays whole; an empty one is one empty document.
        let small = policy_document(&BTreeSet::new(), &ctx(), None);
        assert_eq!(
            split_document(&small, MANAGED_POLICY_MAX_CHARS),
            vec![small.clone()]
        );
        assert_eq!(split_document(&small, 1).len(), 1);
        assert_eq!(
            split_document(&json!({}), 100),
            vec![json!({"Version": "2012-10-17", "Statement": []})]
        );
    }

    #[test]
    fn the_size_counts_no_whitespace() {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Sid": "A B"}]});
        assert_eq!(policy_size(&doc), doc.to_string().len() - 1);
    }
}
