"""Shared pytest fixtures: a private data dir and a built sidecar."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

# Opt-in: real PyTorch training loops need torch, transformers, accelerate and lightning, which CI does not install
# (docs/CHECKPOINTS.md "Real frameworks in CI"). Left out of collection unless asked for, so a CI run has no skips:
#     VIGILO_TORCH_TESTS=1 python -m pytest tests/test_checkpoint_torch_real.py
collect_ignore = [] if os.environ.get("VIGILO_TORCH_TESTS") == "1" else ["test_checkpoint_torch_real.py"]

ROOT = Path(__file__).resolve().parent.parent

# Network rule: no sidecar a test starts probes the outside world (the Kaggle
# internet probe); a test that wants it points it at a loopback server.
os.environ["VIGILO_INTERNET_PROBE"] = "off"


@pytest.fixture(scope="session")
def sidecar_built() -> Path:
    """The checkout's sidecar build (dist/), brought up to date once per session
    (tsc is incremental: a no-op when nothing changed), so tests never run a stale sidecar."""
    subprocess.run(["npx", "tsc", "-p", "tsconfig.node.json"], cwd=ROOT, check=True)
    return ROOT / "bin" / "vigilo.js"


@pytest.fixture(scope="session")
def ip():
    """The one in-process IPython shell of this pytest run. IPython's start_ipython()
    returns the shell only on its first call (None afterwards), so every module shares it."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython

    return start_ipython() or InteractiveShell.instance()


@pytest.fixture
def vigilo_data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh VIGILO_DATA_DIR; any sidecar started in it is stopped afterwards."""
    data = tmp_path / "vigilo-data"
    monkeypatch.setenv("VIGILO_DATA_DIR", str(data))
    monkeypatch.delenv("VIGILO_TOKEN", raising=False)
    yield data
    from vigilo import _sidecar

    _sidecar.stop(data)


@pytest.fixture
def sidecar_fast_heartbeat(sidecar_built, vigilo_data_dir):
    """A sidecar in `vigilo_data_dir` that asks kernels to beat every second (samples every 500 ms),
    started under this process's environment as it is when the fixture runs; its discovery; stopped afterwards."""
    from vigilo import _sidecar

    proc = subprocess.Popen(
        ["node", str(sidecar_built), "serve", "--heartbeat", "1", "--interval", "500", "--data-dir", str(vigilo_data_dir), "--json"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "VIGILO_DATA_DIR": str(vigilo_data_dir)},
    )
    try:
        deadline = time.monotonic() + 20
        discovery = None
        while time.monotonic() < deadline:
            discovery = _sidecar.read_discovery(vigilo_data_dir)
            if discovery and _sidecar.probe(discovery):
                break
            time.sleep(0.1)
        assert discovery, "the sidecar did not start"
        yield discovery
    finally:
        proc.terminate()  # the sidecar stops cleanly on SIGTERM
        proc.communicate(timeout=10)
