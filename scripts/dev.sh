#!/usr/bin/env bash
# Run JupyterLab on 127.0.0.1 with Vigilo live: installs what is missing
# (npm packages, the .venv with JupyterLab), builds the sidecar and the
# labextension, installs the extension into .venv in develop mode, starts (or
# attaches to) the sidecar, then starts JupyterLab. Extra arguments go to
# `jupyter lab`, e.g. `./scripts/dev.sh --port 8890`.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

if ! command -v node >/dev/null 2>&1; then
  echo "Node.js 18+ is required: apt-get install nodejs (or see https://nodejs.org/)" >&2
  exit 1
fi

if [ ! -d node_modules ]; then
  log "npm packages"
  npm ci --no-audit --no-fund
fi

if [ ! -x .venv/bin/jupyter ]; then
  log "python venv (.venv) with JupyterLab"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
fi
export PATH="$PWD/.venv/bin:$PATH"

log "build: sidecar, bundle, labextension"
start=$(date +%s)
npm run --silent build
echo "built in $(( $(date +%s) - start )) s"

log "install the extension into .venv (develop mode)"
if ! .venv/bin/python -c "import vigilo" >/dev/null 2>&1 || [ ! -f .venv/etc/jupyter/jupyter_server_config.d/vigilo.json ]; then
  SKIP_JUPYTER_BUILDER=1 .venv/bin/python -m pip install -q --no-build-isolation --no-deps -e .
fi
jupyter-builder develop --overwrite . >/dev/null
jupyter server extension enable --sys-prefix vigilo >/dev/null

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
