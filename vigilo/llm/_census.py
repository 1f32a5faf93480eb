"""Raw facts for the "untracked calls" signal, sent with the kernel's heartbeat (core; imports no SDK module).

Per SDK: the calls recorded, and the calls that went through an SDK method
Vigilo instruments but were not recorded (outside any ``track()`` block, on a
client never passed to ``wrap()``; the class-level hook of ``_wrapping`` sees
them pass and only counts them), plus which LLM SDKs the kernel has loaded.
``_registry.heartbeat_facts`` instruments newly loaded SDKs, then reads these.
The sidecar decides what to tell the user (src/core/llm/untracked.ts).
"""
from __future__ import annotations

import sys
from typing import Optional

from .._llm_sdks import SDK_MODULES

_tracked: "dict[str, int]" = {}
_untracked: "dict[str, int]" = {}


def tracked(sdk: str) -> None:
    _tracked[sdk] = _tracked.get(sdk, 0) + 1


def untracked(sdk: str) -> None:
    _untracked[sdk] = _untracked.get(sdk, 0) + 1


def loaded() -> "list[str]":
    return [name for name, module in SDK_MODULES.items() if module in sys.modules]


def facts(delivery: Optional[dict] = None) -> Optional[dict]:
    """The heartbeat's ``llm`` facts, or None when no LLM SDK was ever seen and nothing was delivered.
    ``delivery``: the sender's counters (``_delivery.Runtime.delivery_facts``) — events dropped past the buffer's
    bound and why, events waiting in memory and on disk; the sidecar tells the user about lost calls
    (src/core/llm/delivery.ts)."""
    names = loaded()
    if not names and not _tracked and not _untracked and delivery is None:
        return None
    out: "dict[str, object]" = {"loaded": names, "tracked": dict(_tracked), "untracked": dict(_untracked)}
    if delivery is not None:
        out["delivery"] = delivery
    return out
