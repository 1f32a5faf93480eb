#!/usr/bin/env bash
# Run JupyterLab on 127.0.0.1 with Vigilo live: installs what is missing
# (npm packages, the .venv with JupyterLab), builds the sidecar and the
# labextension, installs the extension into .venv in develop mode, starts (or
# attaches to) the sidecar, then starts JupyterLab. Extra arguments go to
# `jupyter lab`, e.g. `./scripts/dev.sh --port 8890`.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# Same idempotent set-up as the test command: npm packages, .venv, build, develop install.
VIGILO_SKIP_CHROMIUM=1 ./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

log "sidecar"
# Started detached, as %vigilo does: it survives this script; stop it with
# `node bin/vigilo.js stop` (or the panel shows "Start Vigilo" until one runs).
.venv/bin/python - <<'PY'
import vigilo._sidecar as s
d = s.ensure_running()
print(f"vigilo sidecar pid {d['pid']} at {d['url']} (data dir {d.get('data_dir', '')})")
PY

log "JupyterLab on 127.0.0.1 (open the eye icon in the left sidebar)"
extra=()
if [ "$(id -u)" -eq 0 ]; then
  extra+=(--allow-root)
fi
exec jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.open_browser=False "${extra[@]}" "$@"
