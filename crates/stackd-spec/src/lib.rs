//! The stackd spec language: HCL as a Terraform user writes it, parsed with
//! source spans, validated against provider schemas and evaluated to values.
//!
//! This crate knows nothing of AWS: resource types arrive as [`schema`] data.

pub mod address;
pub mod config;
pub mod convert;
pub mod diag;
pub mod eval;
pub mod expr;
pub mod schema;
pub mod suggest;
pub mod validate;
pub mod value;
pub mod vars;

pub use address::{module_path_string, Address, BlockAddress, InstanceKey, ModuleStep};
pub use schema::{AttrSchema, AttrType, BlockSchema, Mode, ResourceSchema, SchemaSet};
pub use value::Value;
pub mod functions;
pub mod limits;
pub mod modules;
pub mod nesting;
