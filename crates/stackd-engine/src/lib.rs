//! The stackd engine: expands a spec into resource instances, builds the
//! dependency graph, plans against live state and applies the plan in
//! parallel. It reaches the cloud only through [`provider::Provider`].

pub mod provider;
pub mod state;
pub mod diff;
pub mod retry;
pub mod instance;
pub mod plan;
pub mod values;
pub mod apply;
