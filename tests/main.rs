//! Every integration test of the `stackd` binary, in one test binary: each
//! file under `tests/` is a module. One binary instead of one per file,
//! because each links the whole AWS SDK (about 260 MB unstripped in the dev
//! profile): 26 of them took 7 GB of disk and 26 link steps in every CI run.

mod support;

mod cli_errors;
mod cli_terminal;
mod dry_run;
mod ecs_web_app;
mod github_actions_example;
mod import_blocks;
mod import_terraform;
mod kill_and_resume;
mod local_types;
mod lost_answers;
mod module_init;
mod modules_tree;
mod moved_blocks;
mod network_round_trip;
mod plan_rendering;
mod provider_forms;
mod refresh_cost;
mod remote_state;
mod remote_state_layers;
mod scripts;
mod secrets;
mod service_types;
mod state_surgery;
mod transport_faults;
mod two_copies;
mod validate_cli;
