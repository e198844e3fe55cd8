//! The stackd engine: expands a spec into resource instances, builds the
//! dependency graph, plans against live state and applies the plan in
//! parallel. It reaches the cloud only through [`provider::Provider`].

pub mod provider;
pub mod state;
