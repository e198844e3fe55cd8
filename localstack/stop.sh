#!/usr/bin/env bash
# Stops the LocalStack that start.sh started (found through localstack.pid,
# or localstack-PORT.pid for LOCALSTACK_PORT=PORT). Leaves alone anything
# else on the port, such as a Docker LocalStack.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
port="${LOCALSTACK_PORT:-4566}"
suffix=""
[[ "$port" == 4566 ]] || suffix="-$port"
pid_file="$here/localstack$suffix.pid"

log() { printf 'localstack/stop.sh: %s\n' "$*" >&2; }

pid="$(cat "$pid_file" 2>/dev/null || true)"
if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pid_file"
    log "not running (no live process from $(basename "$pid_file"))"
    exit 0
fi
if ! ps -o args= -p "$pid" 2>/dev/null | grep -q 'localstack\.runtime\.main'; then
    # The pid was recycled by an unrelated process after a crash or reboot.
    rm -f "$pid_file"
    log "pid $pid is not LocalStack; removed the stale pid file"
    exit 0
fi

# start.sh runs it under setsid, so its pid is also its process group: signal
# the group to take any helper processes it spawned with it.
kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
done
if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 30 s; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
fi
rm -f "$pid_file"
log "stopped (pid $pid)"
