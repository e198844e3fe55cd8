//! A Terraform state (format version 4, what Terraform 0.12 to 1.x write)
//! read into a stackd state, so a stack moves from Terraform to stackd
//! without re-creating anything: every managed resource of a type stackd
//! serves is recorded at its address with its cloud ID and the attributes
//! its schema knows; the next plan reads each object by that ID. Nothing is
//! dropped silently: what is not taken is listed with the reason.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use stackd_spec::{Address, BlockAddress, InstanceKey, Mode, SchemaSet, Value};

use super::{OutputState, ResourceState, State, StateError};

/// The result of reading a Terraform state.
#[derive(Debug)]
pub struct Imported {
    pub state: State,
    /// Resources not taken, with why.
    pub skipped: Vec<Skipped>,
}

/// A resource instance of the Terraform state that is not in the result.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// As Terraform writes it: `module.dns.aws_route53_record.www`.
    pub address: String,
    pub why: String,
}

#[derive(Deserialize)]
struct TfState {
    version: u64,
    #[serde(default)]
    outputs: BTreeMap<String, TfOutput>,
    #[serde(default)]
    resources: Vec<TfResource>,
}

#[derive(Deserialize)]
struct TfOutput {
    value: serde_json::Value,
    #[serde(default)]
    sensitive: bool,
}

#[derive(Deserialize)]
struct TfResource {
    #[serde(default)]
    module: Option<String>,
    mode: String,
    #[serde(rename = "type")]
    type_name: String,
    name: String,
    #[serde(default)]
    instances: Vec<TfInstance>,
}

#[derive(Deserialize)]
struct TfInstance {
    #[serde(default)]
    index_key: Option<serde_json::Value>,
    #[serde(default)]
    attributes: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    create_before_destroy: bool,
    #[serde(default)]
    status: Option<String>,
}

/// Reads Terraform state `bytes` (from `place`) into a new state for
/// `stack`, with a fresh lineage (a new stack identity: the objects are
/// tagged with it on the next apply).
pub fn import_v4(
    bytes: &[u8],
    place: &Path,
    stack: &str,
    schemas: &SchemaSet,
) -> Result<Imported, StateError> {
    let invalid = |reason: String| StateError::Invalid {
        path: place.to_path_buf(),
        reason,
    };
    let probe: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("not a Terraform state (not JSON: {e})")))?;
    match probe.get("version").and_then(serde_json::Value::as_u64) {
        Some(4) => {}
        Some(v) => {
            return Err(invalid(format!(
                "Terraform state format version {v}; stackd reads version 4 (Terraform 0.12 \
                 and later): run `terraform init` and `terraform refresh` with a current \
                 Terraform to upgrade it first"
            )))
        }
        None => return Err(invalid("not a Terraform state (no \"version\")".into())),
    }
    let tf: TfState = serde_json::from_value(probe)
        .map_err(|e| invalid(format!("not a Terraform version 4 state: {e}")))?;
    debug_assert_eq!(tf.version, 4);
    let mut state = State::new(stack);
    let mut skipped = Vec::new();
    for r in &tf.resources {
        for inst in &r.instances {
            let written = terraform_address(r, inst);
            if r.mode == "data" {
                // Data sources are read again by every plan.
                continue;
            }
            // `module.net.module.sub["a"]`: the module instance path.
            let module = match &r.module {
                None => Vec::new(),
                Some(m) => match format!("{m}.x_y.z").parse::<Address>() {
                    Ok(a) => a.block.module,
                    Err(_) => {
                        skipped.push(Skipped {
                            address: written,
                            why: format!("the module path {m:?} is not one stackd can read"),
                        });
                        continue;
                    }
                },
            };
            let Some(schema) = schemas.get(Mode::Managed, &r.type_name) else {
                skipped.push(Skipped {
                    address: written,
                    why: format!("stackd does not serve the type {} yet", r.type_name),
                });
                continue;
            };
            if inst.status.as_deref() == Some("tainted") {
                skipped.push(Skipped {
                    address: written,
                    why: "tainted in Terraform (its create failed part-way); let Terraform \
                          replace it first"
                        .into(),
                });
                continue;
            }
            let Some(id) = inst
                .attributes
                .get("id")
                .and_then(serde_json::Value::as_str)
                .filter(|id| !id.is_empty())
            else {
                skipped.push(Skipped {
                    address: written,
                    why: "no id attribute".into(),
                });
                continue;
            };
            let key = match &inst.index_key {
                None => None,
                Some(serde_json::Value::Number(n)) => n.as_i64().map(InstanceKey::Int),
                Some(serde_json::Value::String(s)) => Some(InstanceKey::Str(s.clone())),
                Some(_) => {
                    skipped.push(Skipped {
                        address: written,
                        why: "an index key that is neither a number nor a string".into(),
                    });
                    continue;
                }
            };
            let address: Address = BlockAddress::new(Mode::Managed, &r.type_name, &r.name)
                .in_module(module)
                .instance(key);
            // The attributes stackd's schema knows, as Terraform recorded
            // them; the next plan reads the object itself by its ID.
            let known: BTreeMap<String, Value> = schema
                .body
                .attrs
                .iter()
                .map(|a| a.name)
                .chain(schema.body.blocks.iter().map(|b| b.name))
                .filter_map(|name| {
                    inst.attributes
                        .get(name)
                        .map(|v| (name.to_string(), Value::from_json(v)))
                })
                .collect();
            let mut resource = ResourceState::new(id, Value::Map(known));
            resource.dependencies = inst
                .dependencies
                .iter()
                .filter_map(|d| d.parse::<Address>().ok())
                .collect();
            resource.create_before_destroy = inst.create_before_destroy;
            state.resources.insert(address, resource);
        }
    }
    for (name, o) in tf.outputs {
        state.outputs.insert(
            name,
            OutputState {
                value: Value::from_json(&o.value),
                sensitive: o.sensitive,
            },
        );
    }
    Ok(Imported { state, skipped })
}

/// A Terraform state resource instance's address, as Terraform writes it.
fn terraform_address(r: &TfResource, inst: &TfInstance) -> String {
    let mut out = String::new();
    if let Some(m) = &r.module {
        out.push_str(m);
        out.push('.');
    }
    if r.mode == "data" {
        out.push_str("data.");
    }
    out.push_str(&format!("{}.{}", r.type_name, r.name));
    match &inst.index_key {
        Some(serde_json::Value::Number(n)) => out.push_str(&format!("[{n}]")),
        Some(serde_json::Value::String(s)) => out.push_str(&format!("[{s:?}]")),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_spec::{AttrSchema, AttrType, ResourceSchema};

    fn schemas() -> SchemaSet {
        SchemaSet::new(vec![
            ResourceSchema::resource("aws_vpc")
                .attr(AttrSchema::required("cidr_block", AttrType::String))
                .taggable(),
            ResourceSchema::resource("aws_subnet")
                .attr(AttrSchema::required("vpc_id", AttrType::String))
                .attr(AttrSchema::required("cidr_block", AttrType::String)),
        ])
    }

    const STATE: &str = r#"{
      "version": 4,
      "terraform_version": "1.11.0",
      "serial": 7,
      "lineage": "0b6c1c52-0000-4000-8000-000000000000",
      "outputs": {"vpc_id": {"value": "vpc-1", "type": "string"}},
      "resources": [
        {"mode": "data", "type": "aws_availability_zones", "name": "all",
         "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": [{"schema_version": 0, "attributes": {"id": "us-east-1"}}]},
        {"mode": "managed", "type": "aws_vpc", "name": "main",
         "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": [{"schema_version": 1,
           "attributes": {"id": "vpc-1", "cidr_block": "10.0.0.0/16",
                          "tags": {"Name": "main"}, "tags_all": {"Name": "main"},
                          "enable_classiclink": null},
           "sensitive_attributes": []}]},
        {"mode": "managed", "type": "aws_subnet", "name": "public",
         "each": "map",
         "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": [
           {"index_key": "a", "schema_version": 1,
            "attributes": {"id": "subnet-a", "vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24"},
            "dependencies": ["aws_vpc.main"]},
           {"index_key": "b", "schema_version": 1, "status": "tainted",
            "attributes": {"id": "subnet-b", "vpc_id": "vpc-1", "cidr_block": "10.0.2.0/24"}}]},
        {"mode": "managed", "type": "aws_route53_zone", "name": "main",
         "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": [{"schema_version": 0, "attributes": {"id": "Z123"}}]},
        {"module": "module.dns", "mode": "managed", "type": "aws_vpc", "name": "x",
         "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": [{"index_key": 0, "schema_version": 1, "attributes": {"id": "vpc-2"}}]}
      ]
    }"#;

    #[test]
    fn supported_resources_are_taken_by_id_and_the_rest_listed() {
        let imported =
            import_v4(STATE.as_bytes(), Path::new("t.tfstate"), "net", &schemas()).expect("reads");
        let s = &imported.state;
        assert_eq!(s.stack, "net");
        assert_eq!(s.serial, 0);
        let addrs: Vec<String> = s.resources.keys().map(ToString::to_string).collect();
        assert_eq!(
            addrs,
            [
                "aws_subnet.public[\"a\"]",
                "aws_vpc.main",
                "module.dns.aws_vpc.x[0]"
            ]
        );
        let vpc = &s.resources[&"aws_vpc.main".parse::<Address>().expect("address")];
        assert_eq!(vpc.id, "vpc-1");
        assert_eq!(
            vpc.attrs.get("cidr_block"),
            Some(&Value::from("10.0.0.0/16"))
        );
        assert_eq!(
            vpc.attrs.get("enable_classiclink"),
            None,
            "only schema attributes"
        );
        let subnet = &s.resources[&"aws_subnet.public[\"a\"]".parse::<Address>().expect("a")];
        assert_eq!(subnet.dependencies.len(), 1);
        assert_eq!(s.outputs["vpc_id"].value, Value::from("vpc-1"));
        let skipped: Vec<&str> = imported
            .skipped
            .iter()
            .map(|s| s.address.as_str())
            .collect();
        assert_eq!(
            skipped,
            ["aws_subnet.public[\"b\"]", "aws_route53_zone.main"]
        );
        assert!(imported.skipped[1].why.contains("aws_route53_zone"));
    }

    #[test]
    fn other_versions_and_other_files_are_refused_with_a_reason() {
        let e = import_v4(br#"{"version": 3}"#, Path::new("t"), "s", &schemas())
            .expect_err("version 3");
        assert!(e.to_string().contains("version 3"), "{e}");
        let e = import_v4(b"terraform {", Path::new("t"), "s", &schemas()).expect_err("not JSON");
        assert!(e.to_string().contains("not JSON"), "{e}");
    }
}
