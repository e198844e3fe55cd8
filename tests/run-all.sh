#!/usr/bin/env bash
# Every test: installs and starts LocalStack if needed (localstack/start.sh),
# runs the sample application's back-end tests with Node's own test runner,
# then the whole Rust test suite (unit, engine and integration tests) and
# the fuzzing (fuzz/) with cargo-nextest, or cargo test where nextest is not
# installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash localstack/start.sh

export NO_COLOR=1

# The back end of the application specs/ecs-web-app deploys.
(
  cd specs/ecs-web-app/app/backend
  npm ci --no-audit --no-fund --loglevel=error
  node --test test/
)

# The proptest fuzzing is a workspace of its own (see fuzz/Cargo.toml); it
# shares the build directory, so only its own crates are compiled again.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
  CARGO_TARGET_DIR="$root/target" cargo nextest run --manifest-path fuzz/Cargo.toml --no-fail-fast
else
  cargo test --workspace --no-fail-fast "$@"
  CARGO_TARGET_DIR="$root/target" cargo test --manifest-path fuzz/Cargo.toml --no-fail-fast
fi
