"""PyTorch's own memory facts, read only when the user's code already imported
torch and initialised CUDA: Vigilo never imports torch and never creates a
CUDA context (that alone takes hundreds of MiB of VRAM).

Uses the documented ``torch.cuda`` memory API: ``is_initialized``,
``device_count``, ``memory_allocated``, ``memory_reserved``,
``max_memory_allocated``, ``max_memory_reserved``, ``memory_stats``
(``num_alloc_retries``, ``num_ooms``, ``inactive_split_bytes.all.current``)
and ``get_device_properties``. The sidecar decides what they mean
(src/core/torchMemory.ts).
"""
from __future__ import annotations

import os
import sys
from typing import Optional


def _int_or_none(value) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _device(cuda, index: int) -> dict:
    fact = {
        "index": index,
        "allocatedBytes": int(cuda.memory_allocated(index)),
        "reservedBytes": int(cuda.memory_reserved(index)),
        "maxAllocatedBytes": int(cuda.max_memory_allocated(index)),
    }
    try:
        fact["maxReservedBytes"] = _int_or_none(cuda.max_memory_reserved(index))
    except Exception:
        pass
    try:
        props = cuda.get_device_properties(index)
        fact["name"] = str(getattr(props, "name", "") or "")[:200] or None
        fact["totalBytes"] = _int_or_none(getattr(props, "total_memory", None))
        uuid = getattr(props, "uuid", None)
        if uuid is not None:
            text = str(uuid)
            fact["uuid"] = (text if text.startswith(("GPU-", "MIG-")) else f"GPU-{text}")[:200]
    except Exception:
        pass
    try:
        stats = cuda.memory_stats(index) or {}
        fact["numAllocRetries"] = _int_or_none(stats.get("num_alloc_retries"))
        fact["numOoms"] = _int_or_none(stats.get("num_ooms"))
        fact["inactiveSplitBytes"] = _int_or_none(stats.get("inactive_split_bytes.all.current"))
    except Exception:
        pass
    return fact


def torch_facts(modules=None) -> Optional[dict]:
    """Facts for the heartbeat, or None when torch is not imported."""
    modules = sys.modules if modules is None else modules
    torch = modules.get("torch")
    if torch is None:
        return None
    cuda = getattr(torch, "cuda", None)
    try:
        initialized = bool(cuda is not None and cuda.is_initialized())
    except Exception:
        initialized = False
    version = getattr(torch, "__version__", None)
    out = {
        "version": str(version)[:80] if version else None,
        "cudaInitialized": initialized,
        "allocConf": (os.environ.get("PYTORCH_CUDA_ALLOC_CONF") or os.environ.get("PYTORCH_ALLOC_CONF") or None),
        "devices": [],
    }
    if out["allocConf"]:
        out["allocConf"] = out["allocConf"][:500]
    if not initialized:
        return out
    try:
        count = int(cuda.device_count())
    except Exception:
        count = 0
    for index in range(min(count, 64)):
        try:
            out["devices"].append(_device(cuda, index))
        except Exception:  # a device that fails to answer is left out, never raised into the kernel
            continue
    return out
