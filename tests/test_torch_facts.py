"""PyTorch memory facts in the heartbeat.

CI has no GPU and torch's CPU wheels have no CUDA (torch.cuda.is_initialized()
is False there), so the device path is tested against a stand-in module that
implements torch's documented ``torch.cuda`` memory API (names, arguments and
``memory_stats`` keys as in https://pytorch.org/docs/stable/torch_cuda_memory.html
and the ``torch.cuda.memory_stats`` docstring). With real torch installed the
last test also runs against it.
"""
from __future__ import annotations

import json
import sys
import types
import uuid

import pytest

from vigilo import _torch
from vigilo._kernel import Heartbeat

GiB = 1024**3


class Props:
    def __init__(self, name, total, device_uuid):
        self.name = name
        self.total_memory = total
        self.uuid = device_uuid


def fake_torch(initialized=True, devices=2):
    """A module shaped like ``torch`` with the documented torch.cuda memory functions."""
    cuda = types.SimpleNamespace()
    calls = []
    cuda.is_initialized = lambda: initialized

    def device_count():
        calls.append("device_count")
        return devices

    cuda.device_count = device_count
    cuda.memory_allocated = lambda device=None: [9 * GiB, 1 * GiB][device]
    cuda.memory_reserved = lambda device=None: [14 * GiB, 1 * GiB][device]
    cuda.max_memory_allocated = lambda device=None: [10 * GiB, 1 * GiB][device]
    cuda.max_memory_reserved = lambda device=None: [14 * GiB, 1 * GiB][device]
    cuda.memory_stats = lambda device=None: {
        "num_alloc_retries": [3, 0][device],
        "num_ooms": 0,
        "inactive_split_bytes.all.current": 512 * 1024**2,
        "allocated_bytes.all.current": [9 * GiB, GiB][device],
    }
    ids = [uuid.UUID("d37e67a5-91dd-3774-a5cb-99096249601a"), uuid.UUID("00000000-0000-0000-0000-000000000001")]
    cuda.get_device_properties = lambda device: Props("Tesla T4", 15 * GiB, ids[device])
    torch = types.ModuleType("torch")
    torch.__version__ = "2.5.1+cu121"
    torch.cuda = cuda
    return torch, calls


def test_no_torch_facts_when_torch_is_not_imported():
    assert _torch.torch_facts(modules={}) is None


def test_torch_is_never_asked_about_devices_before_the_user_initialised_cuda():
    torch, calls = fake_torch(initialized=False)
    facts = _torch.torch_facts(modules={"torch": torch})
    assert facts["cudaInitialized"] is False and facts["devices"] == []
    assert calls == []  # device_count() itself can initialise CUDA: not called


def test_each_device_reports_allocated_reserved_peak_and_allocator_counters(monkeypatch):
    monkeypatch.setenv("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
    torch, _ = fake_torch()
    facts = _torch.torch_facts(modules={"torch": torch})
    assert facts["version"] == "2.5.1+cu121" and facts["allocConf"] == "expandable_segments:True"
    first = facts["devices"][0]
    assert first == {
        "index": 0,
        "allocatedBytes": 9 * GiB,
        "reservedBytes": 14 * GiB,
        "maxAllocatedBytes": 10 * GiB,
        "maxReservedBytes": 14 * GiB,
        "name": "Tesla T4",
        "totalBytes": 15 * GiB,
        "uuid": "GPU-d37e67a5-91dd-3774-a5cb-99096249601a",  # nvidia-smi's spelling, to match devices
        "numAllocRetries": 3,
        "numOoms": 0,
        "inactiveSplitBytes": 512 * 1024**2,
    }
    assert len(facts["devices"]) == 2


def test_the_heartbeat_carries_torch_facts_and_stays_small(monkeypatch):
    torch, _ = fake_torch()
    monkeypatch.setitem(sys.modules, "torch", torch)
    body = Heartbeat().payload()
    assert body["torch"]["devices"][1]["allocatedBytes"] == GiB
    # The torch part is what this feature adds (two devices here); the whole beat also
    # carries what else the process has loaded (LLM SDKs, progress bars), so it gets more room.
    torch_size, size = len(json.dumps(body["torch"])), len(json.dumps(body))
    assert torch_size < 1280, torch_size
    assert size < 4096, size


def test_a_broken_torch_never_breaks_the_heartbeat(monkeypatch):
    torch, _ = fake_torch()

    def boom(device=None):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    torch.cuda.memory_allocated = boom
    monkeypatch.setitem(sys.modules, "torch", torch)
    body = Heartbeat().payload()
    assert body["torch"]["devices"] == []
