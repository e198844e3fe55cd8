//! `data.aws_iam_policy_document`: renders an IAM policy document from
//! blocks, locally (no API call), exactly as Terraform's AWS provider
//! renders it, so `json` compares equal to what a Terraform user saw:
//! Go's `MarshalIndent` layout, fields in Terraform's order, single-element
//! lists as plain strings, other lists of actions, resources and
//! identifiers sorted in reverse, principals merged by type, condition
//! values in written order, `&{var}` turned into `${var}`, and
//! `source_policy_documents` / `override_policy_documents` merged by `Sid`.
//!
//! One difference: Terraform merges several `principals` blocks of one type
//! in the order of its internal set hash; stackd uses the written order.
//! The documents mean the same.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use serde_json::{Map, Value as Json};
use stackd_engine::provider::{DataRequest, ErrorKind, ProviderError};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use crate::args::{blocks, opt_str};
use crate::context::Aws;
use crate::iam_util::IAM;
use crate::services::DataHandler;
use crate::services::DataSource;

const DEFAULT_VERSION: &str = "2012-10-17";

fn principals_block(name: &'static str) -> BlockSchema {
    BlockSchema::new(name, Nesting::Set)
        .attr(
            AttrSchema::required("type", AttrType::String)
                .doc("AWS, Service, Federated, CanonicalUser or *."),
        )
        .attr(AttrSchema::required(
            "identifiers",
            AttrType::set_of(AttrType::String),
        ))
}

/// `source_json = X` is `source_policy_documents = [X, ...]`: the old
/// single document goes first.
fn prepend_document(args: &mut BTreeMap<String, Value>, list: &str, v: Value) {
    let mut items = match args.remove(list) {
        Some(Value::List(items)) => items,
        _ => Vec::new(),
    };
    items.insert(0, v);
    args.insert(list.to_string(), Value::List(items));
}

/// `aws_iam_policy_document`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_iam_policy_document",
    schema,
    handler: &IamPolicyDocument,
    // Evaluated locally.
    grants: &[],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let strings = || AttrType::set_of(AttrType::String);
    ResourceSchema::data("aws_iam_policy_document")
        .doc("An IAM policy document rendered locally from blocks.")
        .upgrade(
            AttrSchema::optional("source_json", AttrType::String)
                .doc("Removed in provider 4.0: one source document."),
            "source_policy_documents = [ ... ]",
            |v, args| prepend_document(args, "source_policy_documents", v),
        )
        .upgrade(
            AttrSchema::optional("override_json", AttrType::String)
                .doc("Removed in provider 4.0: one override document."),
            "override_policy_documents = [ ... ]",
            |v, args| prepend_document(args, "override_policy_documents", v),
        )
        .attr(
            AttrSchema::optional("version", AttrType::String)
                .default(DEFAULT_VERSION)
                .check(Check::OneOf(vec!["2008-10-17", "2012-10-17"]))
                .doc("The policy language version."),
        )
        .attr(AttrSchema::optional("policy_id", AttrType::String).doc("The document's `Id`."))
        .attr(
            AttrSchema::optional(
                "source_policy_documents",
                AttrType::list_of(AttrType::String),
            )
            .doc("Documents merged first; their Sids must be unique."),
        )
        .attr(
            AttrSchema::optional(
                "override_policy_documents",
                AttrType::list_of(AttrType::String),
            )
            .doc("Documents merged last; a statement replaces one with the same Sid."),
        )
        .block(
            BlockSchema::new("statement", Nesting::List)
                .attr(AttrSchema::optional("sid", AttrType::String))
                .attr(
                    AttrSchema::optional("effect", AttrType::String)
                        .default("Allow")
                        .check(Check::OneOf(vec!["Allow", "Deny"])),
                )
                .attr(AttrSchema::optional("actions", strings()))
                .attr(AttrSchema::optional("not_actions", strings()))
                .attr(AttrSchema::optional("resources", strings()))
                .attr(AttrSchema::optional("not_resources", strings()))
                .block(principals_block("principals"))
                .block(principals_block("not_principals"))
                .block(
                    BlockSchema::new("condition", Nesting::Set)
                        .attr(AttrSchema::required("test", AttrType::String))
                        .attr(AttrSchema::required("variable", AttrType::String))
                        .attr(AttrSchema::required(
                            "values",
                            AttrType::list_of(AttrType::String),
                        )),
                ),
        )
        .attr(AttrSchema::computed("json", AttrType::String).doc("The document, indented."))
        .attr(
            AttrSchema::computed("minified_json", AttrType::String).doc("The document, minified."),
        )
}

/// A string or a list of strings: Go's `interface{}` holding either.
#[derive(Clone, Debug, PartialEq)]
enum Strs {
    One(String),
    Many(Vec<String>),
}

impl Strs {
    fn to_json(&self) -> Json {
        match self {
            Strs::One(s) => Json::String(s.clone()),
            Strs::Many(v) => Json::Array(v.iter().cloned().map(Json::String).collect()),
        }
    }
}

#[derive(Clone, Debug)]
struct Principal {
    ty: String,
    ids: Strs,
}

#[derive(Clone, Debug)]
struct Condition {
    test: String,
    variable: String,
    values: Strs,
}

#[derive(Clone, Debug, Default)]
struct Statement {
    sid: String,
    effect: String,
    action: Option<Json>,
    not_action: Option<Json>,
    resource: Option<Json>,
    not_resource: Option<Json>,
    principals: Vec<Principal>,
    not_principals: Vec<Principal>,
    conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Default)]
struct Doc {
    version: String,
    id: String,
    statements: Vec<Statement>,
}

fn doc_error(message: impl Into<String>) -> ProviderError {
    ProviderError::new(
        ErrorKind::Permanent,
        IAM,
        "aws_iam_policy_document",
        message,
    )
}

// ---------------------------------------------------------------------------
// From configuration blocks

/// Terraform's `policyDecodeConfigStringList`: one item as a string, more
/// sorted in reverse (de-duplicated, as the set argument is).
fn decode_list(mut items: Vec<String>) -> Option<Strs> {
    items.sort();
    items.dedup();
    match items.len() {
        0 => None,
        1 => items.pop().map(Strs::One),
        _ => {
            items.reverse();
            Some(Strs::Many(items))
        }
    }
}

/// `&{aws:username}` → `${aws:username}`, refused in version 2008-10-17.
fn replace_vars(s: &str, version: &str) -> Result<String, ProviderError> {
    if version == "2008-10-17" && s.contains("&{") {
        return Err(doc_error(format!(
            "found &{{ sequence in ({s}), which is not supported in document version 2008-10-17"
        )));
    }
    Ok(s.replace("&{", "${"))
}

fn replace_vars_in(v: Strs, version: &str) -> Result<Strs, ProviderError> {
    Ok(match v {
        Strs::One(s) => Strs::One(replace_vars(&s, version)?),
        Strs::Many(items) => Strs::Many(
            items
                .iter()
                .map(|s| replace_vars(s, version))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Every string of a list argument, empty ones included.
fn strings_keep_empty(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_list)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn principals_from(
    stmt: &Value,
    key: &str,
    version: &str,
) -> Result<Vec<Principal>, ProviderError> {
    blocks(stmt, key)
        .iter()
        .filter_map(|b| {
            let ty = b
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            decode_list(strings_keep_empty(b, "identifiers")).map(|ids| (ty, ids))
        })
        .map(|(ty, ids)| {
            Ok(Principal {
                ty,
                ids: replace_vars_in(ids, version)?,
            })
        })
        .collect()
}

fn conditions_from(stmt: &Value, version: &str) -> Result<Vec<Condition>, ProviderError> {
    blocks(stmt, "condition")
        .iter()
        .map(|b| {
            let mut values: Vec<String> = strings_keep_empty(b, "values")
                .iter()
                .map(|s| replace_vars(s, version))
                .collect::<Result<_, _>>()?;
            let values = if values.len() == 1 {
                Strs::One(values.remove(0))
            } else {
                Strs::Many(values)
            };
            Ok(Condition {
                test: b
                    .get("test")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                variable: b
                    .get("variable")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                values,
            })
        })
        .collect()
}

fn list_field(
    stmt: &Value,
    key: &str,
    version: Option<&str>,
) -> Result<Option<Json>, ProviderError> {
    let Some(v) = decode_list(strings_keep_empty(stmt, key)) else {
        return Ok(None);
    };
    let v = match version {
        Some(version) => replace_vars_in(v, version)?,
        None => v,
    };
    Ok(Some(v.to_json()))
}

/// The document the `statement` blocks and `policy_id` describe.
fn doc_from_args(args: &Value) -> Result<Doc, ProviderError> {
    let version = opt_str(args, "version")
        .unwrap_or(DEFAULT_VERSION)
        .to_string();
    let mut sids = HashSet::new();
    let mut statements = Vec::new();
    for stmt in blocks(args, "statement") {
        let sid = opt_str(stmt, "sid").unwrap_or("").to_string();
        if !sid.is_empty() && !sids.insert(sid.clone()) {
            return Err(doc_error(format!(
                "duplicate Sid ({sid}). Remove the Sid or ensure the Sid is unique."
            )));
        }
        statements.push(Statement {
            sid,
            effect: opt_str(stmt, "effect").unwrap_or("Allow").to_string(),
            action: list_field(stmt, "actions", None)?,
            not_action: list_field(stmt, "not_actions", None)?,
            resource: list_field(stmt, "resources", Some(&version))?,
            not_resource: list_field(stmt, "not_resources", Some(&version))?,
            principals: principals_from(stmt, "principals", &version)?,
            not_principals: principals_from(stmt, "not_principals", &version)?,
            conditions: conditions_from(stmt, &version)?,
        });
    }
    Ok(Doc {
        id: opt_str(args, "policy_id").unwrap_or("").to_string(),
        version,
        statements,
    })
}

// ---------------------------------------------------------------------------
// From JSON documents (source and override documents)

/// A field looked up as Go's `encoding/json` does: exact name first, then
/// without regard to case.
fn field<'a>(m: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn string_field(m: &Map<String, Json>, name: &str) -> Result<String, String> {
    match field(m, name) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("{name} must be a string, not {other}")),
    }
}

fn principals_from_json(v: Option<&Json>) -> Result<Vec<Principal>, String> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::String(_)) => Ok(vec![Principal {
            ty: "*".into(),
            ids: Strs::Many(vec!["*".into()]),
        }]),
        Some(Json::Object(m)) => m
            .iter()
            .map(|(ty, ids)| {
                let ids = match ids {
                    Json::String(s) => Strs::One(s.clone()),
                    Json::Array(items) => {
                        let mut v = items
                            .iter()
                            .map(|i| i.as_str().map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| format!("principal {ty} must list strings"))?;
                        v.sort();
                        Strs::Many(v)
                    }
                    other => return Err(format!("unsupported principal identifiers {other}")),
                };
                Ok(Principal {
                    ty: ty.clone(),
                    ids,
                })
            })
            .collect(),
        Some(other) => Err(format!("unsupported principal {other}")),
    }
}

fn conditions_from_json(v: Option<&Json>) -> Result<Vec<Condition>, String> {
    let tests = match v {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Object(m)) => m,
        Some(other) => return Err(format!("unsupported condition {other}")),
    };
    let mut out = Vec::new();
    for (test, vars) in tests {
        let Json::Object(vars) = vars else {
            return Err(format!("condition {test} must be an object"));
        };
        for (variable, values) in vars {
            let values = match values {
                Json::String(s) => Strs::Many(vec![s.clone()]),
                Json::Bool(b) => Strs::One(b.to_string()),
                Json::Array(items) => Strs::Many(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| format!("condition {test} {variable} must list strings"))?,
                ),
                // Terraform drops values of other types.
                _ => continue,
            };
            out.push(Condition {
                test: test.clone(),
                variable: variable.clone(),
                values,
            });
        }
    }
    Ok(out)
}

fn raw_field(m: &Map<String, Json>, name: &str) -> Option<Json> {
    field(m, name).filter(|v| !v.is_null()).cloned()
}

fn statement_from_json(v: &Json) -> Result<Statement, String> {
    let Json::Object(m) = v else {
        return Err("a statement must be an object".into());
    };
    Ok(Statement {
        sid: string_field(m, "Sid")?,
        effect: string_field(m, "Effect")?,
        action: raw_field(m, "Action"),
        not_action: raw_field(m, "NotAction"),
        resource: raw_field(m, "Resource"),
        not_resource: raw_field(m, "NotResource"),
        principals: principals_from_json(field(m, "Principal"))?,
        not_principals: principals_from_json(field(m, "NotPrincipal"))?,
        conditions: conditions_from_json(field(m, "Condition"))?,
    })
}

fn doc_from_json(text: &str) -> Result<Doc, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Json::Object(m) = json else {
        return Err("a policy document must be a JSON object".into());
    };
    let statements = match field(&m, "Statement") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items
            .iter()
            .map(statement_from_json)
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("Statement must be a list of statements".into()),
    };
    Ok(Doc {
        version: string_field(&m, "Version")?,
        id: string_field(&m, "Id")?,
        statements,
    })
}

// ---------------------------------------------------------------------------
// Merging and rendering

impl Doc {
    /// Terraform's `IAMPolicyDoc.Merge`.
    fn merge(&mut self, other: Doc) {
        if !other.id.is_empty() {
            self.id = other.id;
        }
        if other.version > self.version {
            self.version = other.version;
        }
        for stmt in other.statements {
            match self
                .statements
                .iter_mut()
                .find(|s| !stmt.sid.is_empty() && s.sid == stmt.sid)
            {
                Some(existing) => *existing = stmt,
                None => self.statements.push(stmt),
            }
        }
    }

    fn to_json(&self) -> Json {
        let mut m = Map::new();
        if !self.version.is_empty() {
            m.insert("Version".into(), Json::String(self.version.clone()));
        }
        if !self.id.is_empty() {
            m.insert("Id".into(), Json::String(self.id.clone()));
        }
        if !self.statements.is_empty() {
            m.insert(
                "Statement".into(),
                Json::Array(self.statements.iter().map(Statement::to_json).collect()),
            );
        }
        Json::Object(m)
    }
}

impl Statement {
    fn to_json(&self) -> Json {
        let mut m = Map::new();
        if !self.sid.is_empty() {
            m.insert("Sid".into(), Json::String(self.sid.clone()));
        }
        if !self.effect.is_empty() {
            m.insert("Effect".into(), Json::String(self.effect.clone()));
        }
        for (key, v) in [
            ("Action", &self.action),
            ("NotAction", &self.not_action),
            ("Resource", &self.resource),
            ("NotResource", &self.not_resource),
        ] {
            if let Some(v) = v {
                m.insert(key.into(), v.clone());
            }
        }
        if !self.principals.is_empty() {
            m.insert("Principal".into(), principals_json(&self.principals));
        }
        if !self.not_principals.is_empty() {
            m.insert("NotPrincipal".into(), principals_json(&self.not_principals));
        }
        if !self.conditions.is_empty() {
            m.insert("Condition".into(), conditions_json(&self.conditions));
        }
        Json::Object(m)
    }
}

/// Terraform's principal set marshalling: a lone `*` principal of type `*`
/// is `"*"`; otherwise identifiers merge per type (sorted by type, as Go
/// sorts map keys), lists sorted in reverse.
fn principals_json(ps: &[Principal]) -> Json {
    if let [p] = ps {
        let star = match &p.ids {
            Strs::One(s) => s == "*",
            Strs::Many(v) => v.len() == 1 && v[0] == "*",
        };
        if p.ty == "*" && star {
            return Json::String("*".into());
        }
    }
    let mut raw: BTreeMap<String, Strs> = BTreeMap::new();
    for p in ps {
        let merged = match (raw.remove(&p.ty), &p.ids) {
            (None, Strs::One(i)) => Strs::One(i.clone()),
            (None, Strs::Many(i)) => Strs::Many(reverse_sorted(i)),
            (Some(Strs::One(v)), Strs::One(i)) => Strs::Many(vec![v, i.clone()]),
            (Some(Strs::One(v)), Strs::Many(i)) => {
                let mut out = vec![v];
                out.extend(reverse_sorted(i));
                Strs::Many(out)
            }
            (Some(Strs::Many(mut v)), Strs::One(i)) => {
                v.push(i.clone());
                Strs::Many(v)
            }
            (Some(Strs::Many(mut v)), Strs::Many(i)) => {
                v.extend(reverse_sorted(i));
                Strs::Many(v)
            }
        };
        raw.insert(p.ty.clone(), merged);
    }
    Json::Object(raw.into_iter().map(|(k, v)| (k, v.to_json())).collect())
}

fn reverse_sorted(items: &[String]) -> Vec<String> {
    let mut v = items.to_vec();
    v.sort_by(|a, b| b.cmp(a));
    v
}

/// Terraform's condition set marshalling: values appended per test and
/// variable in order, a single value as a plain string.
fn conditions_json(cs: &[Condition]) -> Json {
    let mut raw: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for c in cs {
        let values = raw
            .entry(c.test.clone())
            .or_default()
            .entry(c.variable.clone())
            .or_default();
        match &c.values {
            Strs::One(s) => values.push(s.clone()),
            Strs::Many(v) => values.extend(v.iter().cloned()),
        }
    }
    Json::Object(
        raw.into_iter()
            .map(|(test, vars)| {
                let vars = vars
                    .into_iter()
                    .map(|(var, mut values)| {
                        let v = if values.len() == 1 {
                            Strs::One(values.remove(0))
                        } else {
                            Strs::Many(values)
                        };
                        (var, v.to_json())
                    })
                    .collect();
                (test, Json::Object(vars))
            })
            .collect(),
    )
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 in
/// strings; those characters occur only inside strings in JSON text.
fn go_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// CRC-32 (IEEE), as Terraform's `StringHashcode` uses for the ID.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// The merged document: source documents, then the blocks, then the
/// override documents.
fn merged_doc(args: &Value) -> Result<Doc, ProviderError> {
    let mut merged = Doc::default();
    let mut sids: HashSet<String> = HashSet::new();
    for (i, text) in strings_keep_empty(args, "source_policy_documents")
        .iter()
        .enumerate()
    {
        if text.is_empty() {
            continue;
        }
        let source = doc_from_json(text)
            .map_err(|e| doc_error(format!("merging source document {i}: {e}")))?;
        for (j, stmt) in source.statements.iter().enumerate() {
            if !stmt.sid.is_empty() && !sids.insert(stmt.sid.clone()) {
                return Err(doc_error(format!(
                    "merging source document {i}: duplicate Sid ({}) in source_policy_documents \
                     (statement {j}). Remove the Sid or ensure Sids are unique.",
                    stmt.sid
                )));
            }
        }
        merged.merge(source);
    }
    merged.merge(doc_from_args(args)?);
    for (i, text) in strings_keep_empty(args, "override_policy_documents")
        .iter()
        .enumerate()
    {
        if text.is_empty() {
            continue;
        }
        let over = doc_from_json(text)
            .map_err(|e| doc_error(format!("merging override document {i}: {e}")))?;
        merged.merge(over);
    }
    Ok(merged)
}

/// `json`, `minified_json` and `id` for the arguments.
fn render(args: &Value) -> Result<(String, String, String), ProviderError> {
    let doc = merged_doc(args)?.to_json();
    let pretty = serde_json::to_string_pretty(&doc).map_err(|e| doc_error(e.to_string()))?;
    let minified = serde_json::to_string(&doc).map_err(|e| doc_error(e.to_string()))?;
    let pretty = go_escape(&pretty);
    let id = crc32(pretty.as_bytes()).to_string();
    Ok((pretty, go_escape(&minified), id))
}

pub(crate) struct IamPolicyDocument;

#[async_trait]
impl DataHandler for IamPolicyDocument {
    async fn read(&self, _aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let (json, minified, id) = render(&req.args).map_err(|mut e| {
            e.message = format!("{}: {}", req.address, e.message);
            e
        })?;
        let mut out = req.args.as_map().cloned().unwrap_or_default();
        out.insert("id".into(), Value::from(id));
        out.insert("json".into(), Value::from(json));
        out.insert("minified_json".into(), Value::from(minified));
        Ok(Value::Map(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::from(*s)).collect())
    }

    fn principals(ty: &str, ids: &[&str]) -> Value {
        Value::map([("type", Value::from(ty)), ("identifiers", list(ids))])
    }

    fn stmt(pairs: Vec<(&str, Value)>) -> Value {
        Value::map(pairs)
    }

    fn json_of(args: Value) -> String {
        render(&args).unwrap().0
    }

    /// Terraform's acceptance test `TestAccIAMPolicyDocumentDataSource_basic`.
    #[test]
    fn renders_terraforms_basic_example_byte_for_byte() {
        let args = Value::map([
            ("policy_id", Value::from("policy_id")),
            (
                "statement",
                Value::List(vec![
                    stmt(vec![
                        ("sid", Value::from("1")),
                        (
                            "actions",
                            list(&["s3:ListAllMyBuckets", "s3:GetBucketLocation"]),
                        ),
                        ("resources", list(&["arn:aws:s3:::*"])),
                    ]),
                    stmt(vec![
                        ("actions", list(&["s3:ListBucket"])),
                        ("resources", list(&["arn:aws:s3:::foo"])),
                        (
                            "condition",
                            Value::List(vec![Value::map([
                                ("test", Value::from("StringLike")),
                                ("variable", Value::from("s3:prefix")),
                                ("values", list(&["home/", "", "home/&{aws:username}/"])),
                            ])]),
                        ),
                        (
                            "not_principals",
                            Value::List(vec![principals("AWS", &["arn:blahblah:example"])]),
                        ),
                    ]),
                    stmt(vec![
                        ("actions", list(&["s3:*"])),
                        (
                            "resources",
                            list(&[
                                "arn:aws:s3:::foo/home/&{aws:username}",
                                "arn:aws:s3:::foo/home/&{aws:username}/*",
                            ]),
                        ),
                        (
                            "principals",
                            Value::List(vec![principals("AWS", &["arn:blahblah:example"])]),
                        ),
                    ]),
                    stmt(vec![
                        ("effect", Value::from("Deny")),
                        ("not_actions", list(&["s3:*"])),
                        ("not_resources", list(&["arn:aws:s3:::*"])),
                    ]),
                    stmt(vec![
                        ("effect", Value::from("Allow")),
                        ("actions", list(&["kinesis:*"])),
                        ("principals", Value::List(vec![principals("AWS", &["*"])])),
                    ]),
                    stmt(vec![
                        ("effect", Value::from("Allow")),
                        ("actions", list(&["firehose:*"])),
                        ("principals", Value::List(vec![principals("*", &["*"])])),
                    ]),
                ]),
            ),
        ]);
        let expected = r#"{
  "Version": "2012-10-17",
  "Id": "policy_id",
  "Statement": [
    {
      "Sid": "1",
      "Effect": "Allow",
      "Action": [
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation"
      ],
      "Resource": "arn:aws:s3:::*"
    },
    {
      "Effect": "Allow",
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::foo",
      "NotPrincipal": {
        "AWS": "arn:blahblah:example"
      },
      "Condition": {
        "StringLike": {
          "s3:prefix": [
            "home/",
            "",
            "home/${aws:username}/"
          ]
        }
      }
    },
    {
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": [
        "arn:aws:s3:::foo/home/${aws:username}/*",
        "arn:aws:s3:::foo/home/${aws:username}"
      ],
      "Principal": {
        "AWS": "arn:blahblah:example"
      }
    },
    {
      "Effect": "Deny",
      "NotAction": "s3:*",
      "NotResource": "arn:aws:s3:::*"
    },
    {
      "Effect": "Allow",
      "Action": "kinesis:*",
      "Principal": {
        "AWS": "*"
      }
    },
    {
      "Effect": "Allow",
      "Action": "firehose:*",
      "Principal": "*"
    }
  ]
}"#;
        let (json, minified, id) = render(&args).unwrap();
        assert_eq!(json, expected);
        assert_eq!(
            minified,
            r#"{"Version":"2012-10-17","Id":"policy_id","Statement":[{"Sid":"1","Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::*"},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::foo","NotPrincipal":{"AWS":"arn:blahblah:example"},"Condition":{"StringLike":{"s3:prefix":["home/","","home/${aws:username}/"]}}},{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::foo/home/${aws:username}/*","arn:aws:s3:::foo/home/${aws:username}"],"Principal":{"AWS":"arn:blahblah:example"}},{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::*"},{"Effect":"Allow","Action":"kinesis:*","Principal":{"AWS":"*"}},{"Effect":"Allow","Action":"firehose:*","Principal":"*"}]}"#
        );
        assert_eq!(id, crc32(expected.as_bytes()).to_string());
    }

    #[test]
    fn the_id_is_the_crc32_of_the_json() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    /// `TestAccIAMPolicyDocumentDataSource_duplicateConditionKeys`.
    #[test]
    fn condition_values_of_one_key_are_appended() {
        let cond = |values: &[&str]| {
            Value::map([
                ("test", Value::from("StringEquals")),
                ("variable", Value::from("s3:prefix")),
                ("values", list(values)),
            ])
        };
        let json = json_of(Value::map([(
            "statement",
            Value::List(vec![stmt(vec![
                ("actions", list(&["s3:PutObject"])),
                (
                    "condition",
                    Value::List(vec![cond(&["one/", "two/"]), cond(&["three/"])]),
                ),
            ])]),
        )]));
        let doc: Json = serde_json::from_str(&json).unwrap();
        assert_eq!(
            doc["Statement"][0]["Condition"]["StringEquals"]["s3:prefix"],
            serde_json::json!(["one/", "two/", "three/"])
        );
    }

    /// `..._StatementPrincipalIdentifiers_stringAndSlice`.
    #[test]
    fn principals_of_one_type_merge_string_then_reverse_sorted_list() {
        let json = json_of(Value::map([(
            "statement",
            Value::List(vec![stmt(vec![
                ("sid", Value::from("S")),
                ("actions", list(&["*"])),
                ("resources", list(&["*"])),
                (
                    "principals",
                    Value::List(vec![
                        principals("AWS", &["arn:aws:iam::111111111111:root"]),
                        principals(
                            "AWS",
                            &[
                                "arn:aws:iam::222222222222:root",
                                "arn:aws:iam::333333333333:root",
                            ],
                        ),
                    ]),
                ),
            ])]),
        )]));
        assert_eq!(
            json,
            r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "S",
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*",
      "Principal": {
        "AWS": [
          "arn:aws:iam::111111111111:root",
          "arn:aws:iam::333333333333:root",
          "arn:aws:iam::222222222222:root"
        ]
      }
    }
  ]
}"#
        );
    }

    /// `TestAccIAMPolicyDocumentDataSource_sourceList` and `_overrideList`.
    #[test]
    fn sources_merge_first_and_overrides_replace_by_sid() {
        let doc = |stmts: Vec<(&str, &str, &str)>| {
            let args = Value::map([(
                "statement",
                Value::List(
                    stmts
                        .into_iter()
                        .map(|(sid, effect, action)| {
                            stmt(vec![
                                ("sid", Value::from(sid)),
                                ("effect", Value::from(effect)),
                                ("actions", list(&[action])),
                            ])
                        })
                        .collect(),
                ),
            )]);
            Value::from(json_of(args))
        };
        let a = doc(vec![
            ("", "Allow", "foo:ActionOne"),
            ("overrideSid", "Allow", "bar:ActionOne"),
        ]);
        let b = doc(vec![("validSid", "Deny", "foo:ActionTwo")]);
        let c = doc(vec![("overrideSid", "Deny", "bar:ActionOne")]);
        let json = json_of(Value::map([
            ("version", Value::from("2012-10-17")),
            ("override_policy_documents", Value::List(vec![a, b, c])),
        ]));
        assert_eq!(
            json,
            r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "foo:ActionOne"
    },
    {
      "Sid": "overrideSid",
      "Effect": "Deny",
      "Action": "bar:ActionOne"
    },
    {
      "Sid": "validSid",
      "Effect": "Deny",
      "Action": "foo:ActionTwo"
    }
  ]
}"#
        );
    }

    #[test]
    fn duplicate_sids_in_sources_are_refused() {
        let src = Value::from(r#"{"Statement":[{"Sid":"x","Effect":"Allow","Action":"a"}]}"#);
        let err = render(&Value::map([(
            "source_policy_documents",
            Value::List(vec![src.clone(), src]),
        )]))
        .unwrap_err();
        assert!(err.message.contains("duplicate Sid (x)"), "{}", err.message);
        let err = render(&Value::map([(
            "statement",
            Value::List(vec![
                stmt(vec![("sid", Value::from("1"))]),
                stmt(vec![("sid", Value::from("1"))]),
            ]),
        )]))
        .unwrap_err();
        assert!(err.message.contains("duplicate Sid (1)"));
    }

    /// `TestAccIAMPolicyDocumentDataSource_conditionWithBoolValue` and the
    /// empty-source case.
    #[test]
    fn source_conditions_flatten_and_booleans_become_strings() {
        let src = r#"{"Version":"2012-10-17","Statement":[{"Sid":"R","Effect":"Deny",
            "Action":["ec2:CreateTags","ec2:DeleteTags"],"Resource":"arn:aws:ec2:*:*:vpc/*",
            "Condition":{"Null":{"aws:ResourceTag/SpecialTag":false},
            "StringLike":{"aws:ResourceAccount":["123456"],"aws:PrincipalArn":"arn:aws:iam::*:role/X"}}}]}"#;
        let json = json_of(Value::map([(
            "source_policy_documents",
            Value::List(vec![Value::from(src), Value::from("")]),
        )]));
        let doc: Json = serde_json::from_str(&json).unwrap();
        let cond = &doc["Statement"][0]["Condition"];
        assert_eq!(cond["Null"]["aws:ResourceTag/SpecialTag"], "false");
        assert_eq!(cond["StringLike"]["aws:ResourceAccount"], "123456");
        assert_eq!(
            cond["StringLike"]["aws:PrincipalArn"],
            "arn:aws:iam::*:role/X"
        );
        assert_eq!(
            doc["Statement"][0]["Action"],
            serde_json::json!(["ec2:CreateTags", "ec2:DeleteTags"])
        );
        assert_eq!(
            json_of(Value::map([("source_policy_documents", list(&[""]))])),
            "{\n  \"Version\": \"2012-10-17\"\n}"
        );
    }

    #[test]
    fn version_2008_refuses_policy_variables() {
        let args = Value::map([
            ("version", Value::from("2008-10-17")),
            (
                "statement",
                Value::List(vec![stmt(vec![(
                    "resources",
                    list(&["arn:aws:s3:::foo/&{aws:username}"]),
                )])]),
            ),
        ]);
        let err = render(&args).unwrap_err();
        assert!(err
            .message
            .contains("not supported in document version 2008-10-17"));
    }

    #[test]
    fn html_characters_are_escaped_as_go_does() {
        let json = json_of(Value::map([(
            "statement",
            Value::List(vec![stmt(vec![(
                "condition",
                Value::List(vec![Value::map([
                    ("test", Value::from("StringLike")),
                    ("variable", Value::from("k")),
                    ("values", list(&["a<b>&c"])),
                ])]),
            )])]),
        )]));
        assert!(json.contains(r#""a\u003cb\u003e\u0026c""#), "{json}");
    }

    #[test]
    fn a_typical_trust_policy() {
        let json = json_of(Value::map([(
            "statement",
            Value::List(vec![stmt(vec![
                ("actions", list(&["sts:AssumeRole"])),
                (
                    "principals",
                    Value::List(vec![principals("Service", &["ecs-tasks.amazonaws.com"])]),
                ),
            ])]),
        )]));
        assert_eq!(
            json,
            r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "sts:AssumeRole",
      "Principal": {
        "Service": "ecs-tasks.amazonaws.com"
      }
    }
  ]
}"#
        );
    }
}
