//! The AWS provider's LocalStack tests, in one test binary: each file is a
//! module (one binary per file linked the whole AWS SDK once per file).

mod support;

mod cicd_localstack;
mod dry_run_localstack;
mod iam_storage_localstack;
mod lb_ecs_localstack;
mod localstack;
