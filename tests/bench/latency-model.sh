#!/usr/bin/env bash
# Prints how close stackd's apply comes to the critical path when AWS's
# latencies are modelled: tests/bench/aws-model-proxy.py sits in front of
# LocalStack and answers each mutating call no sooner than its modelled
# latency (a NAT gateway's, load balancer's, RDS instance's and ECS
# service's creation as published, every other mutating call
# CALL_LATENCY seconds), scaled down by SCALE.
#
#   bash tests/bench/latency-model.sh        (SCALE=0.02 CALL_LATENCY=0.3)
#
# The model puts an object's wait into its create call's answer, so the
# slowest scaled creation (an RDS instance, 600 s x SCALE) must stay under
# stackd's attempt timeout (STACKD_AWS_ATTEMPT_TIMEOUT, 30 s).
#
# 1. The reference architecture (specs/ecs-web-app): the apply's makespan
#    (first mutating call to the last answer) beside the critical path of
#    its resource graph at one modelled call per resource (`stackd graph`).
# 2. A wide stack of 60 independent log groups at --parallelism 10, beside
#    six modelled call latencies (the bound: 60 calls, 10 at a time).
#
# CALL_TIMES=FILE keeps every call with its start and end (the proxy's
# --log). Pacing is off (STACKD_AWS_RATE_LIMITS=off): this measures scheduling, not
# AWS's request limits (THROTTLE=1 bash tests/bench/stack-sizes.sh does).
# STACKD_BIN and AWS_ENDPOINT_URL as in stack-sizes.sh. Figures are
# printed, never asserted: these machines are shared and noisy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$here/tests/bench/lib.sh"
find_stackd
scale="${SCALE:-0.02}"
call="${CALL_LATENCY:-0.3}"
upstream="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION="${AWS_REGION:-us-east-1}" NO_COLOR=1
export STACKD_AWS_RATE_LIMITS=off
require_localstack "$upstream"
python="$here/localstack/.venv/bin/python"
[[ -x "$python" ]] || { echo "no LocalStack venv at $here/localstack/.venv: run bash localstack/install.sh" >&2; exit 1; }
work="$(mktemp -d)"
start_model_proxy --upstream "$upstream" --scale "$scale" --call-latency "$call" \
  ${CALL_TIMES:+--log "$CALL_TIMES"}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

run() { # run LOG ARGS...: stackd, its output kept in LOG, failing loudly
  local log=$1; shift
  "$bin" "$@" >"$log" 2>&1 || { echo "stackd $* failed; see below" >&2; tail -30 "$log" >&2; exit 1; }
}

# Makespan of one apply through the proxy: "span wall".
apply_through_proxy() {
  local log=$1; shift
  curl -sf -X POST "$proxy/__proxy/reset" >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  AWS_ENDPOINT_URL=$proxy run "$log" "$@"
  t1=$(date +%s.%N)
  local span
  span=$(curl -sf "$proxy/__proxy/stats" | field '["write_span_seconds"]')
  echo "$span $(python3 -c "print('%.2f' % ($t1 - $t0))")"
}

echo "Model: mutating calls $call s each; slow creations as published x $scale."
echo

# 1. The reference architecture.
ref="$work/ref"
cp -r "$here/specs/ecs-web-app" "$ref"
tag="lm$$"
zone="$tag.example.com"
zone_id=$(AWS_ENDPOINT_URL=$upstream "$python" -c "
import boto3, sys
r = boto3.client('route53', endpoint_url='$upstream', region_name='$AWS_REGION').create_hosted_zone(Name='$zone', CallerReference='$tag')
print(r['HostedZone']['Id'])")
vars=(--var "project=$tag" --var "bucket_suffix=-$tag" --var "known_hosts_file=$ref/known_hosts"
  --var "domain_name=app.$zone")
"$bin" graph "$ref" >"$work/graph.dot"
python3 "$here/tests/bench/aws-model-proxy.py" critical-path --scale "$scale" --call-latency "$call" \
  <"$work/graph.dot" >"$work/critical.json"
critical=$(field '["seconds"]' <"$work/critical.json")
chain=$(python3 -c "import json; print(' -> '.join(json.load(open('$work/critical.json'))['chain']))")
read -r span wall < <(apply_through_proxy "$work/ref-apply.log" apply "$ref" --stack "$tag" "${vars[@]}" --auto-approve)
AWS_ENDPOINT_URL=$upstream run "$work/ref-destroy.log" destroy "$ref" --stack "$tag" "${vars[@]}" --auto-approve
AWS_ENDPOINT_URL=$upstream "$python" -c "
import boto3
boto3.client('route53', endpoint_url='$upstream', region_name='$AWS_REGION').delete_hosted_zone(Id='$zone_id')" || true

# 2. A wide stack.
wide="$work/wide"
mkdir -p "$wide"
cat >"$wide/main.tf" <<EOF
resource "aws_cloudwatch_log_group" "g" {
  count = 60
  name  = "/latency-model/$tag/\${count.index}"
}
EOF
read -r wspan wwall < <(apply_through_proxy "$work/wide-apply.log" apply "$wide" --stack "w$tag" --auto-approve --parallelism 10)
AWS_ENDPOINT_URL=$upstream run "$work/wide-destroy.log" destroy "$wide" --stack "w$tag" --auto-approve
bound=$(python3 -c "print('%.2f' % (6 * $call))")

printf '| stack | critical path / bound s | apply makespan s | ratio | whole command s |\n'
printf '|---|---|---|---|---|\n'
printf '| reference architecture | %.2f | %.2f | %.3f | %s |\n' "$critical" "$span" \
  "$(python3 -c "print($span / $critical)")" "$wall"
printf '| 60 log groups, --parallelism 10 | %s | %.2f | %.3f | %s |\n' "$bound" "$wspan" \
  "$(python3 -c "print($wspan / $bound)")" "$wwall"
echo
echo "Critical path of the reference architecture: $chain"
