"""The kernel's TPU fact: read from a jax the user already imported and
initialised, never imported or initialised by Vigilo (issue 16)."""
from __future__ import annotations

import sys
import types

from vigilo._kernel import Heartbeat, tpu_facts


class _Device:
    def __init__(self, kind):
        self.device_kind = kind


class _Client:
    def __init__(self, n, kind):
        self._devices = [_Device(kind) for _ in range(n)]

    def local_devices(self):
        return self._devices


def _fake_bridge(monkeypatch, backends):
    bridge = types.ModuleType("jax._src.xla_bridge")
    bridge._backends = backends
    monkeypatch.setitem(sys.modules, "jax._src.xla_bridge", bridge)


def test_no_tpu_fact_when_jax_is_not_imported(monkeypatch):
    monkeypatch.delitem(sys.modules, "jax._src.xla_bridge", raising=False)
    assert tpu_facts() is None


def test_no_tpu_fact_before_the_user_initialised_a_backend(monkeypatch):
    _fake_bridge(monkeypatch, {})
    assert tpu_facts() is None
    _fake_bridge(monkeypatch, {"cpu": _Client(1, "cpu")})
    assert tpu_facts() is None


def test_reports_kind_and_count_of_an_initialised_tpu_backend(monkeypatch):
    _fake_bridge(monkeypatch, {"tpu": _Client(8, "TPU v5 lite"), "cpu": _Client(1, "cpu")})
    assert tpu_facts() == {"source": "jax", "deviceKind": "TPU v5 lite", "count": 8}


def test_the_heartbeat_carries_the_tpu_fact_and_a_broken_jax_never_breaks_it(monkeypatch):
    _fake_bridge(monkeypatch, {"tpu": _Client(4, "TPU v4")})
    beat = Heartbeat(data_dir="/nonexistent")
    assert beat.payload()["tpu"] == {"source": "jax", "deviceKind": "TPU v4", "count": 4}

    class _Broken:
        def local_devices(self):
            raise RuntimeError("backend gone")

    _fake_bridge(monkeypatch, {"tpu": _Broken()})
    body = beat.payload()
    assert "tpu" not in body and body["kernelId"]
    assert "backend gone" in (beat.last_error or "")
