//! The state file's wire format, version 1, and its conversion to and from
//! the in-memory [`State`].
//!
//! A state file is one pretty-printed JSON object:
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "stackd_version": "0.1.0",
//!   "lineage": "6f1c…-uuid-v4",
//!   "serial": 7,
//!   "stack": "web",
//!   "resources": [
//!     {
//!       "address": "aws_subnet.public[\"a\"]",
//!       "mode": "managed",
//!       "type": "aws_subnet",
//!       "name": "public",
//!       "index_key": "a",
//!       "id": "subnet-0abc",
//!       "attributes": { "id": "subnet-0abc", "cidr_block": "10.0.1.0/24" },
//!       "dependencies": ["aws_vpc.main"],
//!       "create_before_destroy": false,
//!       "tainted": true            (only when set: a provisioner failed)
//!     }
//!   ],
//!   "outputs": { "vpc_id": { "value": "vpc-0123", "sensitive": false } },
//!   "pending": [
//!     { "address": "aws_s3_bucket.logs", "token": "uuid-v4", "started_at": "2024-05-01T12:00:00Z",
//!       "arguments": { "bucket": "acme-logs" } }
//!   ]
//! }
//! ```
//!
//! - `format_version`: this layout's version. A reader refuses a higher
//!   version ("written by a newer stackd"); a change that older readers would
//!   misread must bump it.
//! - `stackd_version`: the stackd that wrote the file, informational.
//! - `lineage`: UUID fixed for the life of the stack's state; `serial`: +1 on
//!   every save.
//! - `resources`: every recorded instance, sorted by address (module path,
//!   then managed before data, type, name, then instance key with `count`
//!   indexes in numeric order). `address` is the full address as Terraform
//!   writes it, including any `module.NAME.` prefix; `mode` is `"managed"` or
//!   `"data"`; `index_key` is `null` (no `count`/`for_each`), an integer
//!   (`count`) or a string (`for_each`). `mode`, `type`, `name` and
//!   `index_key` must agree with `address`. `attributes` is the instance's
//!   attributes as JSON; `dependencies` are addresses.
//! - `outputs`: root outputs by name; sensitive values are stored in clear.
//! - `pending`: creates started but not recorded, sorted by address; `token`
//!   is the idempotency token to reuse, `started_at` RFC 3339 UTC,
//!   `arguments` (optional) what the create was sent with.
//!
//! - `released` (format 2): objects the stack let go of (`state rm`,
//!   `removed` blocks): `{ "address", "type", "id" }`. They still carry the
//!   stack's tags, so a reader that did not know this list would take them
//!   for leftovers and delete them: a state with a non-empty `released` is
//!   written as format version 2, which older stackd refuses to read; any
//!   other state is still written as version 1.
//!
//! `dependencies`, `create_before_destroy`, `outputs`, `pending`,
//! `released` and `sensitive` may be absent (empty / false). Unknown fields
//! are ignored.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use stackd_spec::{Address, BlockAddress, InstanceKey, Mode, Value};

use super::{OutputState, PendingCreate, ResourceState, State, StateError};

/// The state file format version this stackd writes when nothing was
/// released, and the first it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The version of a state with released objects (see the module docs);
/// the highest this stackd reads.
pub const FORMAT_VERSION_RELEASED: u32 = 2;

/// A state file, format version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateFileV1 {
    pub format_version: u32,
    pub stackd_version: String,
    pub lineage: String,
    pub serial: u64,
    pub stack: String,
    #[serde(default)]
    pub resources: Vec<ResourceV1>,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputV1>,
    #[serde(default)]
    pub pending: Vec<PendingV1>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub released: Vec<ReleasedV1>,
}

/// One released object (format 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedV1 {
    pub address: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub id: String,
}

/// One resource instance in a version 1 state file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceV1 {
    pub address: String,
    pub mode: ModeV1,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    pub index_key: Option<IndexKeyV1>,
    pub id: String,
    pub attributes: serde_json::Value,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub create_before_destroy: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
}

/// `"managed"` or `"data"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeV1 {
    Managed,
    Data,
}

/// A `count` index or a `for_each` key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IndexKeyV1 {
    Int(i64),
    Str(String),
}

/// One output in a version 1 state file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputV1 {
    pub value: serde_json::Value,
    #[serde(default)]
    pub sensitive: bool,
}

/// One pending create in a version 1 state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingV1 {
    pub address: String,
    pub token: String,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub arguments: serde_json::Value,
}

impl StateFileV1 {
    /// The file form of `state`, stamped with this stackd's version.
    pub fn from_state(state: &State) -> StateFileV1 {
        StateFileV1 {
            format_version: if state.released.is_empty() {
                FORMAT_VERSION
            } else {
                FORMAT_VERSION_RELEASED
            },
            stackd_version: env!("CARGO_PKG_VERSION").to_string(),
            lineage: state.lineage.clone(),
            serial: state.serial,
            stack: state.stack.clone(),
            resources: state
                .resources
                .iter()
                .map(|(address, r)| ResourceV1::from_entry(address, r))
                .collect(),
            outputs: state
                .outputs
                .iter()
                .map(|(name, o)| {
                    let output = OutputV1 {
                        value: o.value.to_json(),
                        sensitive: o.sensitive,
                    };
                    (name.clone(), output)
                })
                .collect(),
            pending: state
                .pending
                .iter()
                .map(|(address, p)| PendingV1::from_entry(address, p))
                .collect(),
            released: state
                .released
                .iter()
                .map(|r| ReleasedV1 {
                    address: r.address.to_string(),
                    type_name: r.type_name.clone(),
                    id: r.id.clone(),
                })
                .collect(),
        }
    }

    /// Pretty JSON with a trailing newline; `path` names the destination in
    /// errors.
    pub fn to_json(&self, path: &Path) -> Result<Vec<u8>, StateError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|source| StateError::Encode {
            path: path.to_path_buf(),
            source,
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The in-memory state; `path` names the file in errors.
    pub fn into_state(self, path: &Path) -> Result<State, StateError> {
        let invalid = |reason: String| StateError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        if self.format_version != FORMAT_VERSION && self.format_version != FORMAT_VERSION_RELEASED {
            return Err(invalid(format!(
                "unsupported format_version {}",
                self.format_version
            )));
        }
        let parse = |what: &str, s: &str| -> Result<Address, StateError> {
            s.parse::<Address>()
                .map_err(|e| invalid(format!("{what}: {e}")))
        };

        let mut resources = BTreeMap::new();
        for r in self.resources {
            let (address, resource) = r.into_entry().map_err(invalid)?;
            if resources.insert(address.clone(), resource).is_some() {
                return Err(invalid(format!("resource {address} is listed twice")));
            }
        }

        let outputs = self
            .outputs
            .into_iter()
            .map(|(name, o)| {
                let output = OutputState {
                    value: Value::from_json(&o.value),
                    sensitive: o.sensitive,
                };
                (name, output)
            })
            .collect();

        let mut pending = BTreeMap::new();
        for p in self.pending {
            let (address, entry) = p.into_entry().map_err(invalid)?;
            if pending.insert(address.clone(), entry).is_some() {
                return Err(invalid(format!(
                    "pending create of {address} is listed twice"
                )));
            }
        }

        let mut released = Vec::new();
        for r in self.released {
            released.push(super::Released {
                address: parse("released object", &r.address)?,
                type_name: r.type_name,
                id: r.id,
            });
        }
        Ok(State {
            lineage: self.lineage,
            serial: self.serial,
            stack: self.stack,
            resources,
            outputs,
            pending,
            released,
        })
    }
}

impl ResourceV1 {
    /// The file form of one recorded instance.
    pub fn from_entry(address: &Address, r: &ResourceState) -> ResourceV1 {
        ResourceV1 {
            address: address.to_string(),
            mode: match address.block.mode {
                Mode::Managed => ModeV1::Managed,
                Mode::Data => ModeV1::Data,
            },
            type_name: address.block.type_name.clone(),
            name: address.block.name.clone(),
            index_key: address.key.as_ref().map(|k| match k {
                InstanceKey::Int(i) => IndexKeyV1::Int(*i),
                InstanceKey::Str(s) => IndexKeyV1::Str(s.clone()),
            }),
            id: r.id.clone(),
            attributes: r.attrs.to_json(),
            dependencies: r.dependencies.iter().map(Address::to_string).collect(),
            create_before_destroy: r.create_before_destroy,
            tainted: r.tainted,
        }
    }

    /// The recorded instance and its address; the error says what is wrong.
    pub fn into_entry(self) -> Result<(Address, ResourceState), String> {
        let address =
            resource_address(&self).map_err(|why| format!("resource {:?}: {why}", self.address))?;
        let mut dependencies = Vec::with_capacity(self.dependencies.len());
        for d in &self.dependencies {
            dependencies.push(
                d.parse::<Address>()
                    .map_err(|e| format!("dependency of {address}: {e}"))?,
            );
        }
        let resource = ResourceState {
            id: self.id,
            attrs: Value::from_json(&self.attributes),
            dependencies,
            create_before_destroy: self.create_before_destroy,
            tainted: self.tainted,
        };
        Ok((address, resource))
    }
}

impl PendingV1 {
    /// The file form of one pending create.
    pub fn from_entry(address: &Address, p: &PendingCreate) -> PendingV1 {
        PendingV1 {
            address: address.to_string(),
            token: p.token.clone(),
            started_at: p.started_at.clone(),
            arguments: p.arguments.to_json(),
        }
    }

    /// The pending create and its address; the error says what is wrong.
    pub fn into_entry(self) -> Result<(Address, PendingCreate), String> {
        let address = self
            .address
            .parse::<Address>()
            .map_err(|e| format!("pending create: {e}"))?;
        let entry = PendingCreate {
            token: self.token,
            started_at: self.started_at,
            arguments: Value::from_json(&self.arguments),
        };
        Ok((address, entry))
    }
}

/// The address of a resource entry: the module path from `address`, the
/// rest from the structured fields (exact even for keys with quotes), which
/// must render back to `address`.
fn resource_address(r: &ResourceV1) -> Result<Address, String> {
    let parsed: Address = r.address.parse().map_err(|e| format!("{e}"))?;
    let address = Address {
        block: BlockAddress {
            module: parsed.block.module,
            mode: match r.mode {
                ModeV1::Managed => Mode::Managed,
                ModeV1::Data => Mode::Data,
            },
            type_name: r.type_name.clone(),
            name: r.name.clone(),
        },
        key: r.index_key.as_ref().map(|k| match k {
            IndexKeyV1::Int(i) => InstanceKey::Int(*i),
            IndexKeyV1::Str(s) => InstanceKey::Str(s.clone()),
        }),
    };
    if address.to_string() != r.address {
        return Err(format!(
            "mode, type, name and index_key describe {address}, not the address"
        ));
    }
    Ok(address)
}

/// Serializes `state` as a version 1 state file (pretty JSON, trailing
/// newline); `path` names the destination in errors.
pub fn encode(state: &State, path: &Path) -> Result<Vec<u8>, StateError> {
    StateFileV1::from_state(state).to_json(path)
}

/// Parses a state file read from `path`: checks `format_version` first (so a
/// newer file gives [`StateError::TooNew`], not a confusing shape error),
/// then the whole document.
pub fn decode(bytes: &[u8], path: &Path) -> Result<State, StateError> {
    #[derive(Deserialize)]
    struct Probe {
        format_version: u64,
    }
    let malformed = |source: serde_json::Error| StateError::Malformed {
        path: path.to_path_buf(),
        line: source.line(),
        column: source.column(),
        source,
    };
    let probe: Probe = serde_json::from_slice(bytes).map_err(malformed)?;
    if probe.format_version > u64::from(FORMAT_VERSION_RELEASED) {
        return Err(StateError::TooNew {
            path: path.to_path_buf(),
            found: probe.format_version,
            supported: FORMAT_VERSION_RELEASED,
        });
    }
    let file: StateFileV1 = serde_json::from_slice(bytes).map_err(malformed)?;
    file.into_state(path)
}
