#!/usr/bin/env bash
# The main job: start LocalStack (installing it if needed), build stackd and
# apply a spec from specs/ against the emulator, printing its outputs.
#
#   bash localstack/demo.sh [SPEC_DIR] [extra stackd apply flags...]
#
# The state file lands in the spec directory (stackd.state.json, ignored by
# git); run `localstack/demo.sh destroy` to tear the demo down.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

command="apply"
if [[ "${1:-}" == "destroy" ]]; then
  command="destroy"
  shift
fi
spec="${1:-$root/specs/network}"
shift || true

bash "$here/start.sh"

# Point the AWS SDK at the emulator. Nothing else differs from a real
# account: on AWS, drop these and use your own credentials and region.
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

# Shows cargo's progress; the binary is wherever cargo builds it
# (CARGO_TARGET_DIR included).
stackd="$(bash "$here/build-stackd.sh")"
"$stackd" "$command" "$spec" --auto-approve "$@"
