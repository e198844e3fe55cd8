//! The state file. Being written.
