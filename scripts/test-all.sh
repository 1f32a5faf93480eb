#!/usr/bin/env bash
# Every test suite, after set-up: vitest, pytest, Galata UI tests in a real JupyterLab.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

printf '\n== vitest\n'
npx vitest run

printf '\n== pytest\n'
.venv/bin/python -m pytest tests -q -p no:cacheprovider

printf '\n== Galata UI tests (JupyterLab in Debian chromium)\n'
(cd ui-tests && npx playwright test)
