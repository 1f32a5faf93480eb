#!/usr/bin/env bash
# Every test suite, after set-up: vitest, pytest, Galata UI tests in a real JupyterLab.
# Each stage prints how long it took, and a summary of the stages ends the run.
set -euo pipefail
cd "$(dirname "$0")/.."

STAGES=()
stage() {
  local name=$1
  shift
  printf '\n== %s\n' "$name"
  local start=$SECONDS
  "$@"
  STAGES+=("$(printf '%-8s %4d s' "$name" $((SECONDS - start)))")
}
summary() {
  printf '\n== stage times (%s, TZ=%s)\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "${TZ:-unset}"
  printf '%s\n' "${STAGES[@]}"
}
trap summary EXIT

stage set-up ./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# The sidecar, the panel and the tests themselves type-check (vitest strips types without checking them).
stage typecheck bash -c 'npx tsc -p tsconfig.node.json --noEmit && npx tsc -p tsconfig.json --noEmit && npx tsc -p tsconfig.test.json'
stage vitest npx vitest run
stage pytest .venv/bin/python -m pytest tests -q -p no:cacheprovider
# JupyterLab in Debian's chromium.
stage galata bash -c 'cd ui-tests && npx playwright test'
