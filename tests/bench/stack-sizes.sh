#!/usr/bin/env bash
# Prints how stackd's cost grows with the stack: for each size N, a spec of
# N resources (six types, count-linked instance by instance, as real stacks
# are) is validated, planned empty, applied, diffed with no change and
# destroyed against LocalStack, with wall time, CPU (user + system) and peak
# memory of each command, the no-op diff's AWS calls, and the state's size.
#
#   bash tests/bench/stack-sizes.sh [N ...]          (default: 100 500 1000 2000)
#   PLAN_ONLY=1 bash tests/bench/stack-sizes.sh 10000 (validate and plan only)
#   THROTTLE=1 bash tests/bench/stack-sizes.sh 2000   (through AWS's request limits)
#
# Calls are not paced (STACKD_AWS_RATE_LIMITS=off): LocalStack has no
# request limits, and the figures are stackd's own cost. With THROTTLE=1 the
# apply and destroy go through tests/bench/aws-model-proxy.py enforcing
# AWS's published token buckets (a call over its bucket gets the service's
# throttling error), with stackd's pacing on as it ships, and the table
# gives the calls made and how many were throttled.
#
# STACKD_BIN: the binary (default target/release/stackd, else target/debug/stackd).
# AWS_ENDPOINT_URL: LocalStack (default http://127.0.0.1:4566; start it with
# bash localstack/start.sh). Figures are printed, never asserted: these
# machines are shared and noisy. Needs GNU time (/usr/bin/time).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$here/tests/bench/lib.sh"
find_stackd
[[ -x /usr/bin/time ]] || { echo "GNU time (/usr/bin/time) is needed" >&2; exit 1; }
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION="${AWS_REGION:-us-east-1}" NO_COLOR=1
if [[ -z "${THROTTLE:-}" ]]; then
  export STACKD_AWS_RATE_LIMITS="${STACKD_AWS_RATE_LIMITS:-off}"
fi
[[ -n "${PLAN_ONLY:-}" ]] || require_localstack "$AWS_ENDPOINT_URL"
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(100 500 1000 2000)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# N resources: one VPC, then (N-1)/6 each of security groups, their ingress
# rules, log groups, SSM parameters, IAM roles and their inline policies,
# each instance using its own instance of the block before it.
spec() {
  local n=$1 dir=$2 tag=$3 k=$(( ($1 - 1) / 6 ))
  mkdir -p "$dir"
  cat > "$dir/main.tf" <<EOF
resource "aws_vpc" "main" {
  cidr_block = "10.99.0.0/16"
}

resource "aws_security_group" "s" {
  count  = $k
  name   = "bench-$tag-\${count.index}"
  vpc_id = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "r" {
  count             = $k
  security_group_id = aws_security_group.s[count.index].id
  cidr_ipv4         = "10.0.0.0/8"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_cloudwatch_log_group" "g" {
  count             = $k
  name              = "/bench/$tag/\${count.index}"
  retention_in_days = 1
}

resource "aws_ssm_parameter" "p" {
  count = $k
  name  = "/bench/$tag/\${count.index}"
  type  = "String"
  value = aws_cloudwatch_log_group.g[count.index].arn
}

resource "aws_iam_role" "role" {
  count = $k
  name  = "bench-$tag-\${count.index}"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy" "read" {
  count = $k
  name  = "read"
  role  = aws_iam_role.role[count.index].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "ssm:GetParameter", Resource = aws_ssm_parameter.p[count.index].arn }]
  })
}
EOF
}

# Runs stackd; prints "wall cpu rss_mb" of the run.
measure() {
  local out=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" "$@" >"$out" 2>&1 || {
    local rc=$?
    # diff --detailed-exitcode answers 2 for changes: not a failure here.
    [[ $rc == 2 ]] || { echo "stackd $* failed ($rc); see below" >&2; tail -20 "$out" >&2; exit 1; }
  }
  awk '{ printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$work/time"
}

if [[ -n "${THROTTLE:-}" ]]; then
  start_model_proxy --upstream "$AWS_ENDPOINT_URL" --buckets
  # "calls throttled percent" the proxy saw since its last reset.
  proxy_stats() {
    curl -sf "$proxy/__proxy/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["calls"], d["throttled"], "%.2f" % (100.0 * d["throttled"] / max(d["calls"], 1)), json.dumps(d["throttled_by_bucket"]).replace(" ", ""))'
    curl -sf -X POST "$proxy/__proxy/reset" >/dev/null
  }
  printf '| N | apply s (cpu) | apply calls | throttled (%%) | destroy s (cpu) | destroy calls | throttled (%%) |\n'
  printf '|---|---|---|---|---|---|---|\n'
  for n in "${sizes[@]}"; do
    tag="t$n-$$"
    dir="$work/$tag"
    spec "$n" "$dir" "$tag"
    stack="bench-$tag"
    curl -sf -X POST "$proxy/__proxy/reset" >/dev/null
    read -r aw ac _ < <(AWS_ENDPOINT_URL=$proxy measure "$work/apply.log" apply "$dir" --stack "$stack" --auto-approve)
    read -r acalls athr apct aby < <(proxy_stats)
    read -r xw xc _ < <(AWS_ENDPOINT_URL=$proxy measure "$work/destroy.log" destroy "$dir" --stack "$stack" --auto-approve)
    read -r xcalls xthr xpct xby < <(proxy_stats)
    printf '| %s | %s (%s) | %s | %s (%s%%) %s | %s (%s) | %s | %s (%s%%) %s |\n' \
      "$n" "$aw" "$ac" "$acalls" "$athr" "$apct" "$aby" "$xw" "$xc" "$xcalls" "$xthr" "$xpct" "$xby"
  done
  exit 0
fi

printf '| N | validate s | plan s (cpu, MB) | apply s (cpu, MB) | no-op diff s (cpu) | diff calls | destroy s (cpu) | state KB |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
  tag="n$n-$$"
  dir="$work/$tag"
  spec "$n" "$dir" "$tag"
  stack="bench-$tag"
  read -r vw _ _ < <(measure "$work/validate.log" validate "$dir")
  read -r pw pc pm < <(measure "$work/plan.log" diff "$dir" --stack "$stack")
  if [[ -n "${PLAN_ONLY:-}" ]]; then
    printf '| %s | %s | %s (%s, %s) | - | - | - | - | - |\n' "$n" "$vw" "$pw" "$pc" "$pm"
    continue
  fi
  read -r aw ac am < <(measure "$work/apply.log" apply "$dir" --stack "$stack" --auto-approve)
  rm -f "$work/calls.jsonl"
  STACKD_AWS_CALL_LOG="$work/calls.jsonl" measure "$work/diff.log" diff "$dir" --stack "$stack" --detailed-exitcode >"$work/diffm"
  read -r dw dc _ <"$work/diffm"
  calls=$(wc -l <"$work/calls.jsonl" | tr -d ' ')
  state_kb=$(( $(stat -c %s "$dir/stackd.state.json") / 1024 ))
  read -r xw xc _ < <(measure "$work/destroy.log" destroy "$dir" --stack "$stack" --auto-approve)
  printf '| %s | %s | %s (%s, %s) | %s (%s, %s) | %s (%s) | %s | %s (%s) | %s |\n' \
    "$n" "$vw" "$pw" "$pc" "$pm" "$aw" "$ac" "$am" "$dw" "$dc" "$calls" "$xw" "$xc" "$state_kb"
done
