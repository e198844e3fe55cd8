#!/usr/bin/env bash
# Installs community LocalStack (host mode, no Docker) and stackd's provider
# plugin into localstack/.venv. Idempotent: a stamp file holds a hash of
# everything that decides what is installed, and a matching stamp skips the
# work. Set PYTHON to choose the interpreter (default python3, >= 3.10;
# localstack-core 4.13.1 is the newest release that runs on 3.11).
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.stackd-install-stamp"
python="${PYTHON:-python3}"

log() { printf 'localstack/install.sh: %s\n' "$*" >&2; }

# Serialises concurrent installs (two start.sh at once); flock is util-linux
# only, so without it we simply go ahead.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$here/.install.lock"
    flock 9
fi

# Hash of the inputs: file names and contents, in a fixed order.
inputs_hash() {
    "$python" - "$here" <<'PY'
import hashlib, pathlib, sys
root = pathlib.Path(sys.argv[1])
files = [root / "requirements.txt", root / "constraints.txt", root / "plugin" / "pyproject.toml"]
files += sorted((root / "plugin" / "stackd_localstack_moto_services").rglob("*.py"))
h = hashlib.sha256()
for f in files:
    h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
print(h.hexdigest())
PY
}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    log "need Python >= 3.10 as '$python' (set PYTHON=...)"
    exit 1
fi

want="$(inputs_hash)"
venv_ok=false
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    venv_ok=true
fi
if $venv_ok && [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "up to date ($venv)"
    exit 0
fi

if ! $venv_ok; then
    # Missing, or its interpreter is gone (e.g. a removed pyenv version).
    log "creating $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi
rm -f "$stamp"

pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
log "installing requirements (constraints.txt locks every version)"
"${pip[@]}" install -q -r "$here/requirements.txt" -c "$here/constraints.txt"

# Build the plugin from a copy so setuptools' build/ and *.egg-info stay out
# of the source tree; --force-reinstall picks up source edits at one version.
build_dir="$(mktemp -d)"
trap 'rm -rf "$build_dir"' EXIT
cp -R "$here/plugin/." "$build_dir/"
log "installing plugin stackd-localstack-moto-services"
"${pip[@]}" install -q --no-deps --force-reinstall "$build_dir"

printf '%s\n' "$want" >"$stamp"
log "done ($venv)"
