//! The stackd engine: expands a spec into resource instances, builds the
//! dependency graph, plans against live state and applies the plan in
//! parallel. It reaches the cloud only through [`provider::Provider`].

// Provider errors carry the service, operation, code, message and request ID
// a user needs; they travel only on the failure path, so their size is not
// worth boxing for.
#![allow(clippy::result_large_err)]

pub mod apply;
pub mod check;
pub mod diff;
pub mod instance;
pub mod plan;
pub mod planfile;
pub mod provider;
pub mod provision;
pub mod retry;
pub mod state;
pub mod tree;
pub mod values;
