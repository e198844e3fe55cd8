//! The root output values of another stack's state, for
//! `data.terraform_remote_state`: a state written by stackd (its state file,
//! any format version this stackd reads) or by Terraform (state format
//! version 4, Terraform 0.12 to 1.x). Which one it is is told from the
//! document itself: stackd's has `format_version`, Terraform's `version`.
//!
//! Only the `outputs` section is read, leniently (every other part of the
//! document is ignored), so a state whose resources this stackd could not
//! load still gives its outputs. Sensitive outputs are included, as
//! Terraform includes them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use stackd_spec::Value;

use super::file::{OutputV1, FORMAT_VERSION};
use super::StateError;

/// The Terraform state format version read here.
const TERRAFORM_VERSION: u64 = 4;

/// Who wrote a state document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateFormat {
    /// stackd's state file ([`super::StateFileV1`]).
    Stackd,
    /// Terraform's state, format version 4.
    TerraformV4,
}

/// A state's root outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct RootOutputs {
    pub format: StateFormat,
    /// Each output's value by name (sensitive ones included).
    pub values: BTreeMap<String, Value>,
}

/// The `outputs` section, the same shape in both formats
/// (`{"name": {"value": ..., "sensitive": bool}}`; Terraform adds `type`).
#[derive(Deserialize)]
struct OutputsOnly {
    #[serde(default)]
    outputs: Option<BTreeMap<String, OutputV1>>,
}

/// Reads the root outputs of the state document `bytes`, read from `place`
/// (a path or an `s3://bucket/key` URL, for errors). A state without an
/// `outputs` section has none.
pub fn read_root_outputs(bytes: &[u8], place: &Path) -> Result<RootOutputs, StateError> {
    let invalid = |reason: String| StateError::Invalid {
        path: place.to_path_buf(),
        reason,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("it is empty".into()));
    }
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        invalid(format!(
            "not JSON (line {}, column {}: {e})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(object) = doc.as_object() else {
        return Err(invalid(format!(
            "a state is a JSON object, not {}",
            json_kind(&doc)
        )));
    };
    let format = if let Some(v) = object.get("format_version") {
        let found = v
            .as_u64()
            .ok_or_else(|| invalid(format!("format_version {v} is not a version number")))?;
        if found > u64::from(FORMAT_VERSION) {
            return Err(StateError::TooNew {
                path: place.to_path_buf(),
                found,
                supported: FORMAT_VERSION,
            });
        }
        StateFormat::Stackd
    } else if let Some(v) = object.get("version") {
        match v.as_u64() {
            Some(TERRAFORM_VERSION) => StateFormat::TerraformV4,
            Some(found) => {
                return Err(invalid(format!(
                    "Terraform state format version {found}; stackd reads version \
                     {TERRAFORM_VERSION} (Terraform 0.12 and later): upgrade the state with a \
                     current Terraform first"
                )))
            }
            None => return Err(invalid(format!("version {v} is not a version number"))),
        }
    } else {
        return Err(invalid(
            "neither a stackd state (no \"format_version\") nor a Terraform state \
             (no \"version\")"
                .into(),
        ));
    };
    let section: OutputsOnly = serde_json::from_value(doc)
        .map_err(|e| invalid(format!("its \"outputs\" section is not readable: {e}")))?;
    let values = section
        .outputs
        .unwrap_or_default()
        .into_iter()
        .map(|(name, o)| (name, Value::from_json(&o.value)))
        .collect();
    Ok(RootOutputs { format, values })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{encode, OutputState, State};

    fn read(text: &str) -> Result<RootOutputs, String> {
        read_root_outputs(text.as_bytes(), Path::new("s3://b/net.tfstate"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_stackd_state_gives_its_outputs_sensitive_ones_included() {
        let mut state = State::new("net");
        state.outputs.insert(
            "vpc_id".into(),
            OutputState {
                value: Value::from("vpc-1"),
                sensitive: false,
            },
        );
        state.outputs.insert(
            "token".into(),
            OutputState {
                value: Value::from("s3cret"),
                sensitive: true,
            },
        );
        state.outputs.insert(
            "subnets".into(),
            OutputState {
                value: Value::List(vec![Value::from("subnet-a"), Value::from("subnet-b")]),
                sensitive: false,
            },
        );
        let bytes = encode(&state, Path::new("x")).expect("encode");
        let got = read_root_outputs(&bytes, Path::new("x")).expect("read");
        assert_eq!(got.format, StateFormat::Stackd);
        assert_eq!(got.values.get("vpc_id"), Some(&Value::from("vpc-1")));
        assert_eq!(got.values.get("token"), Some(&Value::from("s3cret")));
        assert_eq!(
            got.values
                .get("subnets")
                .and_then(Value::as_list)
                .map(<[Value]>::len),
            Some(2)
        );
    }

    #[test]
    fn a_terraform_v4_state_gives_each_outputs_value() {
        let got = read(
            r#"{
              "version": 4,
              "terraform_version": "1.9.5",
              "serial": 3,
              "lineage": "3f1c0000-0000-4000-8000-000000000000",
              "outputs": {
                "vpc_id": {"value": "vpc-0abc", "type": "string"},
                "azs": {"value": ["us-east-1a", "us-east-1b"], "type": ["list", "string"]},
                "tags": {"value": {"env": "prod", "n": 2},
                         "type": ["object", {"env": "string", "n": "number"}]},
                "db_password": {"value": "hunter2", "type": "string", "sensitive": true}
              },
              "resources": [{"mode": "managed", "type": "aws_vpc", "name": "main",
                             "instances": [{"attributes": {"id": "vpc-0abc"}}]}],
              "check_results": null
            }"#,
        )
        .expect("read");
        assert_eq!(got.format, StateFormat::TerraformV4);
        assert_eq!(got.values.len(), 4);
        assert_eq!(got.values["vpc_id"], Value::from("vpc-0abc"));
        assert_eq!(
            got.values["azs"],
            Value::List(vec![Value::from("us-east-1a"), Value::from("us-east-1b")])
        );
        assert_eq!(got.values["tags"].get("n"), Some(&Value::Number(2.0)));
        assert_eq!(got.values["db_password"], Value::from("hunter2"));
    }

    #[test]
    fn a_state_without_outputs_has_none() {
        for text in [
            r#"{"version": 4, "serial": 1, "lineage": "l", "resources": []}"#,
            r#"{"version": 4, "outputs": {}}"#,
            r#"{"version": 4, "outputs": null}"#,
            r#"{"format_version": 1, "stackd_version": "0.1.0", "lineage": "l",
                "serial": 2, "stack": "net", "resources": []}"#,
        ] {
            let got = read(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(got.values.is_empty(), "{text}");
        }
    }

    #[test]
    fn what_is_not_a_readable_state_is_an_error_naming_the_place() {
        for (text, why) in [
            ("", "empty"),
            ("  \n", "empty"),
            ("{\"version\": 4,", "not JSON"),
            ("[1, 2]", "not an array"),
            ("{\"serial\": 1}", "neither a stackd state"),
            ("{\"version\": 3, \"outputs\": {}}", "format version 3"),
            ("{\"version\": \"4\"}", "not a version number"),
            ("{\"format_version\": 99}", "written by a newer stackd"),
            (
                "{\"version\": 4, \"outputs\": {\"x\": \"no value\"}}",
                "\"outputs\" section",
            ),
            (
                "{\"version\": 4, \"outputs\": {\"x\": {}}}",
                "\"outputs\" section",
            ),
        ] {
            let e = read(text).expect_err(text);
            assert!(e.contains("s3://b/net.tfstate"), "{text}: {e}");
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
