#!/usr/bin/env bash
# The stackd steps of the example workflow (stackd.yml), kept in one script
# so that the workflow and its integration test (tests/github_actions_example.rs)
# run exactly the same commands.
#
#   stackd-ci.sh pr    pull request: dry run, then the plan as a Markdown
#                      comment body in $STACKD_COMMENT (default stackd-plan.md)
#                      with the dry run's findings; exits 2 if the dry run
#                      found the plan would fail
#   stackd-ci.sh main  merge to main: apply
#
# Environment:
#   STACKD_SPEC     the spec directory (required)
#   STACKD_BACKEND  where the state lives, e.g. s3://bucket/key (omit to use
#                   the spec's terraform { backend "s3" { ... } } block)
#   STACKD_STACK    the stack name (default: the spec directory's name)
#   STACKD          the stackd binary (default: stackd on PATH)
set -euo pipefail

mode=${1:?usage: stackd-ci.sh pr|main}
spec=${STACKD_SPEC:?set STACKD_SPEC to the spec directory}
stackd=${STACKD:-stackd}
comment=${STACKD_COMMENT:-stackd-plan.md}

common=()
if [[ -n "${STACKD_BACKEND:-}" ]]; then common+=(--backend "$STACKD_BACKEND"); fi
if [[ -n "${STACKD_STACK:-}" ]]; then common+=(--stack "$STACKD_STACK"); fi

case "$mode" in
  pr)
    # 1. The dry run: every change checked against the cloud, nothing made.
    #    Exit 2 means the plan would fail; that fails the check (below), but
    #    only after the plan comment is written, so reviewers see why.
    dry=$(mktemp)
    trap 'rm -f "$dry"' EXIT
    dry_status=0
    "$stackd" apply --dry-run "$spec" "${common[@]}" >"$dry" || dry_status=$?
    cat "$dry"
    # 2. The plan as the comment body. Exit 2 only means "there are changes".
    status=0
    "$stackd" diff "$spec" "${common[@]}" --detailed-exitcode --format markdown >"$comment" || status=$?
    if [[ $status -ne 0 && $status -ne 2 ]]; then exit "$status"; fi
    {
      echo
      echo "<details><summary>Dry run: $([[ $dry_status -eq 0 ]] && echo 'the plan would go through' || echo ':x: the plan would fail')</summary>"
      echo
      echo '```'
      sed -n '/^Dry run:/,$p' "$dry"
      echo '```'
      echo '</details>'
    } >>"$comment"
    echo "changes=$([[ $status -eq 2 ]] && echo true || echo false)" >>"${GITHUB_OUTPUT:-/dev/null}"
    exit "$dry_status"
    ;;
  main)
    "$stackd" apply "$spec" "${common[@]}" --auto-approve
    ;;
  *)
    echo "stackd-ci.sh: unknown mode '$mode' (expected pr or main)" >&2
    exit 64
    ;;
esac
