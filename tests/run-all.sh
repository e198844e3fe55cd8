#!/usr/bin/env bash
# Every test: installs and starts LocalStack if needed (localstack/start.sh),
# runs the sample application's back-end tests with Node's own test runner,
# then the whole Rust test suite (unit, engine and integration tests) with
# cargo-nextest, or cargo test where nextest is not installed.
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

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
