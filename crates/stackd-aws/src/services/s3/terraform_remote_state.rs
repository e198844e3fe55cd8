//! `data.terraform_remote_state`: the root outputs of another stack's state,
//! so a system is split in layers (a network stack, an application stack
//! reading its VPC and subnet IDs). The state is read from S3 (`backend =
//! "s3"`: the object at `bucket`/`key`, where stackd's S3 backend and
//! Terraform's keep it) or from a file (`backend = "local"`), and may be
//! written by stackd or by Terraform (state format version 4): the format is
//! told from the document ([`stackd_engine::state::read_root_outputs`]).
//!
//! As in Terraform: `outputs` holds each output's value (sensitive ones
//! included), `defaults` fills in outputs the state lacks, and only the
//! `default` workspace exists. Unlike Terraform, a missing state is an error
//! naming where it was looked for, not an empty set of outputs. S3 is read
//! with the provider's credentials; `endpoint` and the settings that only
//! matter for writing (locking, encryption, path style) are accepted and
//! ignored, credential settings refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ErrorKind, ProviderError};
use stackd_engine::state::read_root_outputs;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::OBJECT;
use crate::context::Aws;
use crate::iam_util::AwsResult;
use crate::policy::g;
use crate::services::DataHandler;
use crate::services::DataSource;

/// The service name of errors found before or after any call.
const SERVICE: &str = "terraform_remote_state";

/// Terraform's default state file name, the local backend's default `path`.
const DEFAULT_LOCAL_PATH: &str = "terraform.tfstate";

/// The only workspace: stackd keeps one state per stack.
const DEFAULT_WORKSPACE: &str = "default";

/// S3 backend settings accepted and ignored: where to send (the provider's
/// endpoint is used) and what only writing, locking or encrypting needs.
const S3_IGNORED: &[&str] = &[
    "acl",
    "dynamodb_endpoint",
    "dynamodb_table",
    "encrypt",
    "endpoint",
    "endpoints",
    "force_path_style",
    "insecure",
    "kms_key_id",
    "max_retries",
    "skip_credentials_validation",
    "skip_metadata_api_check",
    "skip_region_validation",
    "skip_requesting_account_id",
    "skip_s3_checksum",
    "use_lockfile",
    "use_path_style",
    "workspace_key_prefix",
];

/// Local backend settings accepted and ignored (only the default workspace
/// is read, so where the others live does not matter).
const LOCAL_IGNORED: &[&str] = &["workspace_dir"];

/// `terraform_remote_state`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static DATA: DataSource = DataSource {
    name: "terraform_remote_state",
    schema,
    handler: &TerraformRemoteState,
    // The other stack's state object (`backend = "s3"`); a local state
    // file needs nothing.
    grants: &[g(&["s3:GetObject"], &[OBJECT])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("terraform_remote_state")
        .doc("The root outputs of another stack's state (stackd's or Terraform's), read from S3 or a file.")
        .attr(
            AttrSchema::required("backend", AttrType::String)
                .doc("Where the state is: \"s3\" or \"local\"."),
        )
        .attr(AttrSchema::optional("config", AttrType::Any).doc(
            "The backend's settings: s3 takes bucket, key and region (default: the provider's); \
             local takes path (default terraform.tfstate), read against the root module's \
             directory when relative.",
        ))
        .attr(
            AttrSchema::optional("defaults", AttrType::Any)
                .doc("Output values used where the state has no output of that name."),
        )
        .attr(
            AttrSchema::optional("workspace", AttrType::String)
                .default(DEFAULT_WORKSPACE)
                .doc("The workspace; only \"default\" exists."),
        )
        .attr(
            AttrSchema::computed("outputs", AttrType::Any)
                .doc("The state's root output values by name, over `defaults`."),
        )
}

/// Where the other stack's state is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    S3 {
        bucket: String,
        key: String,
        /// `None`: the provider's region.
        region: Option<String>,
    },
    Local(PathBuf),
}

impl Source {
    /// The place as an `s3://` URL or a path, for errors and the `id`.
    fn describe(&self) -> String {
        match self {
            Source::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
            Source::Local(path) => path.display().to_string(),
        }
    }
}

/// Where `backend`, `config` and `workspace` say the state is; a relative
/// local path is read against `root_dir`. The error says what to change.
fn source_of(args: &Value, root_dir: Option<&Path>) -> Result<Source, String> {
    match args.get("workspace") {
        None | Some(Value::Null) => {}
        Some(Value::String(w)) if w == DEFAULT_WORKSPACE => {}
        Some(Value::String(w)) => {
            return Err(format!(
                "workspace {w:?}: stackd keeps one state per stack, in the \"default\" \
                 workspace; to read a Terraform workspace's state, name its object or file in \
                 config instead (Terraform's S3 backend keeps it at env:/{w}/KEY)"
            ))
        }
        Some(other) => {
            return Err(format!(
                "workspace must be a string, not a {}",
                other.type_name()
            ))
        }
    }
    let config = match args.get("config") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Map(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "config must be an object of backend settings, not a {}",
                other.type_name()
            ))
        }
    };
    match args.get("backend").and_then(Value::as_str) {
        Some("s3") => s3_source(&config),
        Some("local") => local_source(&config, root_dir),
        Some(other) => Err(format!(
            "backend {other:?} is not supported: stackd reads a remote state from \"s3\" or \
             \"local\""
        )),
        None => Err("backend is required: \"s3\" or \"local\"".into()),
    }
}

/// A `config` setting that must be a non-empty string when given.
fn setting<'a>(config: &'a BTreeMap<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(Value::String(_)) => Err(format!("config.{key} is empty")),
        Some(other) => Err(format!(
            "config.{key} must be a string, not a {}",
            other.type_name()
        )),
    }
}

/// Refuses settings the backend does not take (a typo, or one that would
/// change what is read or as whom) rather than ignoring them.
fn check_keys(
    config: &BTreeMap<String, Value>,
    backend: &str,
    used: &[&str],
    ignored: &[&str],
) -> Result<(), String> {
    match config
        .keys()
        .find(|k| !used.contains(&k.as_str()) && !ignored.contains(&k.as_str()))
    {
        None => Ok(()),
        Some(k) => Err(format!(
            "config.{k} is not a setting stackd reads for the {backend} backend: it takes {}{}",
            used.join(", "),
            if backend == "s3" {
                " (S3 is read with the provider's credentials)"
            } else {
                ""
            }
        )),
    }
}

fn s3_source(config: &BTreeMap<String, Value>) -> Result<Source, String> {
    check_keys(config, "s3", &["bucket", "key", "region"], S3_IGNORED)?;
    let bucket = setting(config, "bucket")?
        .ok_or("config.bucket is required for the s3 backend: the state's bucket")?;
    let key = setting(config, "key")?
        .ok_or("config.key is required for the s3 backend: the state object's key")?;
    if bucket.contains('/') {
        return Err(format!(
            "config.bucket {bucket:?} is not a bucket name (a \"/\" belongs in key)"
        ));
    }
    Ok(Source::S3 {
        bucket: bucket.to_string(),
        key: key.to_string(),
        region: setting(config, "region")?.map(str::to_string),
    })
}

fn local_source(
    config: &BTreeMap<String, Value>,
    root_dir: Option<&Path>,
) -> Result<Source, String> {
    check_keys(config, "local", &["path"], LOCAL_IGNORED)?;
    let path = Path::new(setting(config, "path")?.unwrap_or(DEFAULT_LOCAL_PATH));
    if path.is_absolute() {
        return Ok(Source::Local(path.to_path_buf()));
    }
    match root_dir {
        Some(root) => Ok(Source::Local(root.join(path))),
        None => Err(format!(
            "config.path {:?} is relative and the root module's directory is not known here; \
             write it from the module's directory, e.g. \"${{path.module}}/{}\"",
            path.display(),
            path.display()
        )),
    }
}

/// The data source's `outputs`: `defaults`, then the state's outputs over
/// them (as Terraform merges them).
fn outputs_over_defaults(
    outputs: BTreeMap<String, Value>,
    defaults: Option<&Value>,
) -> Result<Value, String> {
    let mut merged = match defaults {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Map(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "defaults must be an object of output values, not a {}",
                other.type_name()
            ))
        }
    };
    merged.extend(outputs);
    Ok(Value::Map(merged))
}

/// The arguments with what was read: `id` (where the state is) and
/// `outputs`.
fn remote_state_value(args: &Value, source: &Source, outputs: Value) -> Value {
    let mut out = args.as_map().cloned().unwrap_or_default();
    out.insert("id".into(), Value::from(source.describe()));
    out.insert("workspace".into(), Value::from(DEFAULT_WORKSPACE));
    out.insert("outputs".into(), outputs);
    Value::Map(out)
}

/// An error naming the data source's address.
fn failed(req: &DataRequest, operation: &str, message: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(
        ErrorKind::Permanent,
        SERVICE,
        operation,
        format!("{}: {message}", req.address),
    )
}

/// The state object's bytes.
async fn read_s3(
    aws: &Aws,
    req: &DataRequest,
    bucket: &str,
    key: &str,
    region: Option<&str>,
) -> Result<Vec<u8>, ProviderError> {
    let aws = aws.with_s3_region(region.unwrap_or(&aws.loc.region));
    let url = format!("s3://{bucket}/{key}");
    let out = aws
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .aws("s3", "GetObject")
        .map_err(|mut e| {
            if matches!(e.code.as_deref(), Some("NoSuchKey" | "NoSuchBucket")) {
                // Nothing to wait for: the other stack has not been applied,
                // or the bucket, key or region is wrong.
                e.kind = ErrorKind::Permanent;
                e.message = format!(
                    "{}: no state at {url} ({}): apply the stack that writes it first, or check \
                     the bucket, key and region in config",
                    req.address, e.message
                );
            } else if e.code.as_deref() == Some("AccessDenied") {
                e.message = format!(
                    "{}: reading {url}: {} (S3 also answers AccessDenied for a missing object \
                     when the caller may not list the bucket)",
                    req.address, e.message
                );
            } else {
                e.message = format!("{}: reading {url}: {}", req.address, e.message);
            }
            e
        })?;
    let body = out.body.collect().await.map_err(|e| {
        ProviderError::new(
            ErrorKind::Transient,
            "s3",
            "GetObject",
            format!("{}: reading {url}: the body was cut off: {e}", req.address),
        )
    })?;
    Ok(body.into_bytes().to_vec())
}

/// The state file's bytes.
async fn read_local(req: &DataRequest, path: &Path) -> Result<Vec<u8>, ProviderError> {
    tokio::fs::read(path).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            failed(
                req,
                "ReadStateFile",
                format!(
                    "no state file at {}: apply the stack that writes it first, or check \
                     config.path",
                    path.display()
                ),
            )
        } else {
            failed(
                req,
                "ReadStateFile",
                format!("cannot read state file {}: {e}", path.display()),
            )
        }
    })
}

pub(crate) struct TerraformRemoteState;

#[async_trait]
impl DataHandler for TerraformRemoteState {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let source =
            source_of(&req.args, aws.root_dir.as_deref()).map_err(|m| failed(req, "config", m))?;
        let bytes = match &source {
            Source::S3 {
                bucket,
                key,
                region,
            } => read_s3(aws, req, bucket, key, region.as_deref()).await?,
            Source::Local(path) => read_local(req, path).await?,
        };
        let place = PathBuf::from(source.describe());
        let read = read_root_outputs(&bytes, &place).map_err(|e| failed(req, "ReadState", e))?;
        tracing::debug!(format = ?read.format, outputs = read.values.len(), "read remote state");
        let outputs = outputs_over_defaults(read.values, req.args.get("defaults"))
            .map_err(|m| failed(req, "config", m))?;
        Ok(remote_state_value(&req.args, &source, outputs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::fake;

    fn args(backend: &str, config: Value) -> Value {
        Value::map([("backend", Value::from(backend)), ("config", config)])
    }

    fn request(args: Value) -> DataRequest {
        DataRequest {
            address: "data.terraform_remote_state.net".parse().expect("address"),
            type_name: "terraform_remote_state".into(),
            args,
        }
    }

    fn s3_config(pairs: &[(&str, &str)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (*k, Value::from(*v))))
    }

    #[test]
    fn s3_needs_a_bucket_and_a_key_and_takes_a_region() {
        let got = source_of(
            &args(
                "s3",
                s3_config(&[
                    ("bucket", "st"),
                    ("key", "net/terraform.tfstate"),
                    ("region", "eu-west-1"),
                ]),
            ),
            None,
        );
        assert_eq!(
            got,
            Ok(Source::S3 {
                bucket: "st".into(),
                key: "net/terraform.tfstate".into(),
                region: Some("eu-west-1".into()),
            })
        );
        // The endpoint and write-side settings are ignored.
        let got = source_of(
            &args(
                "s3",
                Value::map([
                    ("bucket", Value::from("st")),
                    ("key", Value::from("k")),
                    ("endpoint", Value::from("http://elsewhere")),
                    ("encrypt", Value::Bool(true)),
                ]),
            ),
            None,
        );
        assert!(
            matches!(got, Ok(Source::S3 { region: None, .. })),
            "{got:?}"
        );
        for (config, why) in [
            (s3_config(&[("key", "k")]), "config.bucket is required"),
            (s3_config(&[("bucket", "b")]), "config.key is required"),
            (
                s3_config(&[("bucket", ""), ("key", "k")]),
                "config.bucket is empty",
            ),
            (
                s3_config(&[("bucket", "b/x"), ("key", "k")]),
                "not a bucket name",
            ),
            (
                s3_config(&[("bucket", "b"), ("key", "k"), ("profile", "p")]),
                "config.profile is not a setting",
            ),
            (
                Value::map([("bucket", Value::from("b")), ("key", Value::Number(1.0))]),
                "config.key must be a string",
            ),
            (Value::from("b/k"), "config must be an object"),
            (Value::Null, "config.bucket is required"),
        ] {
            let e = source_of(&args("s3", config.clone()), None).expect_err(why);
            assert!(e.contains(why), "{config}: {e}");
        }
    }

    #[test]
    fn a_relative_local_path_is_read_against_the_root_module() {
        let root = Path::new("/specs/app");
        let relative = args("local", s3_config(&[("path", "../net/terraform.tfstate")]));
        assert_eq!(
            source_of(&relative, Some(root)),
            Ok(Source::Local(PathBuf::from(
                "/specs/app/../net/terraform.tfstate"
            )))
        );
        let absolute = args("local", s3_config(&[("path", "/states/net.tfstate")]));
        assert_eq!(
            source_of(&absolute, Some(root)),
            Ok(Source::Local(PathBuf::from("/states/net.tfstate")))
        );
        assert_eq!(
            source_of(&absolute, None),
            Ok(Source::Local(PathBuf::from("/states/net.tfstate")))
        );
        // Terraform's default file name.
        assert_eq!(
            source_of(&args("local", Value::Null), Some(root)),
            Ok(Source::Local(PathBuf::from("/specs/app/terraform.tfstate")))
        );
        let e = source_of(&relative, None).expect_err("no root dir");
        assert!(e.contains("${path.module}/../net/terraform.tfstate"), "{e}");
    }

    #[test]
    fn only_the_default_workspace_and_the_s3_and_local_backends_are_read() {
        let mut a = args("local", s3_config(&[("path", "/x")]));
        if let Value::Map(m) = &mut a {
            m.insert("workspace".into(), Value::from("default"));
        }
        assert!(source_of(&a, None).is_ok());
        if let Value::Map(m) = &mut a {
            m.insert("workspace".into(), Value::from("staging"));
        }
        let e = source_of(&a, None).expect_err("staging");
        assert!(e.contains("workspace \"staging\""), "{e}");
        assert!(e.contains("env:/staging/"), "{e}");
        let e = source_of(&args("consul", Value::Null), None).expect_err("consul");
        assert!(e.contains("backend \"consul\" is not supported"), "{e}");
    }

    #[test]
    fn state_outputs_win_over_defaults_which_fill_the_gaps() {
        let outputs = BTreeMap::from([
            ("vpc_id".to_string(), Value::from("vpc-real")),
            ("n".to_string(), Value::Number(3.0)),
        ]);
        let defaults = Value::map([
            ("vpc_id", Value::from("vpc-default")),
            ("region", Value::from("us-east-1")),
        ]);
        let got = outputs_over_defaults(outputs.clone(), Some(&defaults)).expect("merge");
        assert_eq!(got.get("vpc_id"), Some(&Value::from("vpc-real")));
        assert_eq!(got.get("region"), Some(&Value::from("us-east-1")));
        assert_eq!(got.get("n"), Some(&Value::Number(3.0)));
        assert_eq!(
            outputs_over_defaults(BTreeMap::new(), None),
            Ok(Value::Map(BTreeMap::new()))
        );
        let e = outputs_over_defaults(outputs, Some(&Value::from("x"))).expect_err("string");
        assert!(e.contains("defaults must be an object"), "{e}");
    }

    const TF_STATE: &str = r#"{"version": 4, "terraform_version": "1.9.0", "serial": 1,
        "lineage": "l", "outputs": {"vpc_id": {"value": "vpc-tf", "type": "string"},
        "secret": {"value": "s", "type": "string", "sensitive": true}}, "resources": []}"#;

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("stackd-remote-state-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("terraform.tfstate");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[tokio::test]
    async fn a_local_terraform_state_is_read_with_defaults() {
        let path = temp_file("local", TF_STATE);
        let mut aws = crate::elbv2_ecs_util::offline_aws();
        aws.root_dir = path.parent().map(Path::to_path_buf);
        let mut a = args("local", Value::Null);
        if let Value::Map(m) = &mut a {
            m.insert("defaults".into(), Value::map([("extra", Value::from("d"))]));
        }
        let v = TerraformRemoteState
            .read(&aws, &request(a))
            .await
            .expect("read");
        let outputs = v.get("outputs").expect("outputs");
        assert_eq!(outputs.get("vpc_id"), Some(&Value::from("vpc-tf")));
        assert_eq!(outputs.get("secret"), Some(&Value::from("s")));
        assert_eq!(outputs.get("extra"), Some(&Value::from("d")));
        assert_eq!(v.get("id"), Some(&Value::from(path.display().to_string())));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }

        std::fs::write(&path, "{\"version\": 4").expect("write");
        let e = TerraformRemoteState
            .read(&aws, &request(args("local", Value::Null)))
            .await
            .expect_err("truncated");
        assert!(
            e.message.starts_with("data.terraform_remote_state.net: "),
            "{e}"
        );
        assert!(e.message.contains("not JSON"), "{e}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap_or(&path));

        let e = TerraformRemoteState
            .read(&aws, &request(args("local", Value::Null)))
            .await
            .expect_err("gone");
        assert_eq!(e.kind, ErrorKind::Permanent);
        assert!(
            e.message
                .contains(&format!("no state file at {}", path.display())),
            "{e}"
        );
        assert!(e.message.contains("data.terraform_remote_state.net"), "{e}");
    }

    #[tokio::test]
    async fn an_s3_state_is_read_from_its_bucket_and_region() {
        let (aws, requests) = fake::aws(|r| {
            if r.contains("/net/terraform.tfstate") {
                (
                    200,
                    r#"{"format_version": 1, "stackd_version": "0.1.0", "lineage": "l",
                        "serial": 4, "stack": "net", "resources": [],
                        "outputs": {"vpc_id": {"value": "vpc-stackd", "sensitive": false}}}"#
                        .into(),
                )
            } else if r.contains("/private/") {
                (
                    403,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                     <Message>Access Denied</Message></Error>"
                        .into(),
                )
            } else {
                (
                    404,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
                     <Message>The specified key does not exist.</Message></Error>"
                        .into(),
                )
            }
        });
        let v = TerraformRemoteState
            .read(
                &aws,
                &request(args(
                    "s3",
                    s3_config(&[("bucket", "states"), ("key", "net/terraform.tfstate")]),
                )),
            )
            .await
            .expect("read");
        assert_eq!(
            v.get("outputs").and_then(|o| o.get("vpc_id")),
            Some(&Value::from("vpc-stackd"))
        );
        assert_eq!(
            v.get("id"),
            Some(&Value::from("s3://states/net/terraform.tfstate"))
        );

        let e = TerraformRemoteState
            .read(
                &aws,
                &request(args(
                    "s3",
                    s3_config(&[
                        ("bucket", "states"),
                        ("key", "app.tfstate"),
                        ("region", "eu-west-2"),
                    ]),
                )),
            )
            .await
            .expect_err("missing");
        assert_eq!(e.kind, ErrorKind::Permanent);
        assert_eq!(e.code.as_deref(), Some("NoSuchKey"));
        assert!(
            e.message.starts_with(
                "data.terraform_remote_state.net: no state at s3://states/app.tfstate"
            ),
            "{e}"
        );
        let e = TerraformRemoteState
            .read(
                &aws,
                &request(args(
                    "s3",
                    s3_config(&[("bucket", "states"), ("key", "private/net.tfstate")]),
                )),
            )
            .await
            .expect_err("denied");
        assert_eq!(e.code.as_deref(), Some("AccessDenied"));
        assert!(
            e.message
                .contains("reading s3://states/private/net.tfstate"),
            "{e}"
        );
        assert!(e.message.contains("may not list the bucket"), "{e}");
        let sent = requests.lock().map(|r| r.clone()).unwrap_or_default();
        assert_eq!(sent.len(), 3, "{sent:?}");
        assert!(sent[0].starts_with("GET "), "{sent:?}");
        assert!(!sent[0].contains("eu-west-2"), "{sent:?}");
        assert!(
            sent[1].contains("eu-west-2"),
            "the bucket's region: {sent:?}"
        );
    }
}
