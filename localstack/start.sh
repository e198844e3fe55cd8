#!/usr/bin/env bash
# Starts LocalStack on 127.0.0.1:4566 in host mode (no Docker) and waits
# until every service stackd's tests use is ready. Idempotent: an instance
# that already answers healthy on the port (this one, or a Docker one) is
# reused. LOCALSTACK_START_TIMEOUT (seconds, default 120) bounds the wait.
# LOCALSTACK_PORT (default 4566) runs it on another port, e.g. a second
# checkout's own instance (its tests then need STACKD_TEST_ENDPOINT).
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
port="${LOCALSTACK_PORT:-4566}"
# A second instance on another port keeps its own pid, log and data, so
# neither start.sh nor stop.sh of one port ever takes the other's process.
suffix=""
[[ "$port" == 4566 ]] || suffix="-$port"
pid_file="$here/localstack$suffix.pid"
log_file="$here/localstack$suffix.log"
data_dir="$here/.data$suffix"
health_url="http://127.0.0.1:$port/_localstack/health"
timeout="${LOCALSTACK_START_TIMEOUT:-120}"
required="ec2 iam sts s3 logs ssm ecs elbv2 ecr codebuild codepipeline application-autoscaling cloudwatch route53 acm secretsmanager sns sqs rds autoscaling cloudtrail servicediscovery codedeploy codestar-connections ecr-public"

log() { printf 'localstack/start.sh: %s\n' "$*" >&2; }

# Prints the required services that the health endpoint does not list as
# available or running; fails if the endpoint does not answer.
missing_services() {
    local body
    body="$(curl -fsS --max-time 3 "$health_url" 2>/dev/null)" || return 1
    python3 -c '
import json, sys
services = json.loads(sys.argv[1]).get("services", {})
print(" ".join(s for s in sys.argv[2].split() if services.get(s) not in ("available", "running")))
' "$body" "$required"
}

is_our_localstack() {
    local pid="$1"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
        ps -o args= -p "$pid" 2>/dev/null | grep -q 'localstack\.runtime\.main'
}

port_in_use() {
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null
}

# Only one start.sh decides at a time, so two callers never launch two
# servers on one port.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$here/.start.lock"
    flock 9
fi

if missing="$(missing_services)"; then
    if [[ -z "$missing" ]]; then
        log "LocalStack already running and healthy at ${health_url%/_localstack/health}; reusing it"
        exit 0
    fi
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    if ! is_our_localstack "$pid"; then
        # Something else holds the port (e.g. a Docker LocalStack without an
        # auth token): do not fight it.
        log "port $port is served by another LocalStack that lacks: $missing"
        log "stop it, or give it those services (see localstack/README.md)"
        exit 1
    fi
    log "our LocalStack (pid $pid) is still starting; waiting for it"
else
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    if ! is_our_localstack "$pid"; then
        rm -f "$pid_file"
        if port_in_use; then
            # LocalStack does not exit when it cannot bind: it would print
            # "Ready." and hang until the timeout.
            log "127.0.0.1:$port is in use by something that is not a healthy LocalStack"
            exit 1
        fi
        "$here/install.sh"
        mkdir -p "$data_dir"
        log "starting LocalStack (log: $log_file)"
        # OVERRIDE_IN_DOCKER=0: this sandbox has /.dockerenv, and LocalStack
        #   would then think it runs in its own container: ignore
        #   FILESYSTEM_ROOT (writing to /var/lib/localstack), ping Docker
        #   bridge addresses and edit /etc/resolv.conf for its DNS server.
        # DNS_ADDRESS=0: no DNS server (it wants port 53 and an upstream).
        # SKIP_SSL_CERT_DOWNLOAD=1: no attempt to fetch a cert from the net.
        # SERVICES unset: load every provider, ours included.
        # MOTO_ACM_VALIDATION_WAIT=1: LocalStack issues a DNS-validated
        #   certificate a fixed time after its request, whether or not its
        #   validation record exists (quirk), at most 10 s. AWS takes
        #   minutes; the latency benchmark models that itself (scaled down,
        #   about 2 s), and a 10 s floor would put the emulator's wait on
        #   its critical path and on every test that validates one.
        (
            # Do not hand the start lock to the server: it would hold it for
            # its whole life and every later start.sh would block.
            exec 9>&-
            cd "$here"
            unset SERVICES
            export DISABLE_EVENTS=1 \
                FILESYSTEM_ROOT="$data_dir" \
                GATEWAY_LISTEN="127.0.0.1:$port" \
                OVERRIDE_IN_DOCKER=0 \
                DNS_ADDRESS=0 \
                SKIP_SSL_CERT_DOWNLOAD=1 \
                MOTO_ACM_VALIDATION_WAIT=1
            # setsid: own session and process group, so it outlives this
            # script and stop.sh can signal the whole group.
            exec setsid nohup "$venv/bin/python" -m localstack.runtime.main \
                </dev/null >"$log_file" 2>&1
        ) &
        pid=$!
        printf '%s\n' "$pid" >"$pid_file"
    else
        log "our LocalStack (pid $pid) is still starting; waiting for it"
    fi
fi

started=$SECONDS
while :; do
    if missing="$(missing_services)" && [[ -z "$missing" ]]; then
        log "LocalStack ready after $((SECONDS - started)) s (pid $pid)"
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        log "LocalStack (pid $pid) exited during start-up; last log lines:"
        tail -n 40 "$log_file" >&2 || true
        rm -f "$pid_file"
        exit 1
    fi
    if grep -q 'CannotListenError' "$log_file" 2>/dev/null; then
        log "LocalStack could not bind 127.0.0.1:$port; last log lines:"
        tail -n 40 "$log_file" >&2 || true
        "$here/stop.sh" || true
        exit 1
    fi
    if ((SECONDS - started >= timeout)); then
        log "LocalStack not ready after ${timeout} s (missing: ${missing:-no answer}); last log lines:"
        tail -n 40 "$log_file" >&2 || true
        log "stopping it"
        "$here/stop.sh" || true
        exit 1
    fi
    sleep 1
done
