#!/usr/bin/env bash
# Builds the stackd binary (debug profile) and prints its path on stdout.
#
#   bash localstack/build-stackd.sh               build, then print the path
#   bash localstack/build-stackd.sh --print-path  only print where it is built
#
# The binary lands in cargo's target directory, wherever that is
# (CARGO_TARGET_DIR, build.target-dir in a cargo config, else ./target):
# cargo metadata says. cargo's own progress goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$root/Cargo.toml"

target_dir="$(cargo metadata --format-version 1 --no-deps --manifest-path "$manifest" |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
if [[ -z "$target_dir" ]]; then
  echo "build-stackd.sh: cannot tell cargo's target directory (cargo metadata)" >&2
  exit 1
fi
binary="$target_dir/debug/stackd"

if [[ "${1:-}" != "--print-path" ]]; then
  if [[ ! -x "$binary" ]]; then
    echo "Building stackd. The first build compiles the AWS SDK: 7 to 25 minutes depending" >&2
    echo "on the machine (cargo lists each crate as it goes); later builds take seconds." >&2
  fi
  cargo build --manifest-path "$manifest" --bin stackd >&2
fi
echo "$binary"
