# Sourced by the benchmark scripts: the stackd binary to measure, the
# LocalStack check, and the model proxy (aws-model-proxy.py).
# Expects $here (the repository root) and $work (a temporary directory).

# Sets $bin: STACKD_BIN, else the release build, else the debug build.
find_stackd() {
  bin="${STACKD_BIN:-}"
  if [[ -z "$bin" ]]; then
    if [[ -x "$here/target/release/stackd" ]]; then bin="$here/target/release/stackd"; else bin="$here/target/debug/stackd"; fi
  fi
  [[ -x "$bin" ]] || { echo "no stackd binary at $bin: cargo build --release first" >&2; exit 1; }
}

# Fails loudly when LocalStack does not answer at $1.
require_localstack() {
  if ! curl -sf "$1/_localstack/health" >/dev/null; then
    echo "LocalStack is not reachable at $1: start it with bash localstack/start.sh" >&2
    exit 1
  fi
}

# Starts the model proxy on a free 127.0.0.1 port with the given `serve`
# arguments; sets $proxy (its URL) and removes it and $work on exit.
start_model_proxy() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 "$here/tests/bench/aws-model-proxy.py" serve --port "$port" "$@" &
  proxy_pid=$!
  trap 'kill $proxy_pid 2>/dev/null; rm -rf "$work"' EXIT
  proxy="http://127.0.0.1:$port"
  for _ in $(seq 50); do curl -sf "$proxy/__proxy/stats" >/dev/null && break; sleep 0.1; done
}
