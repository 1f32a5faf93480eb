"""How a ``%vigilo`` subcommand reaches the running sidecar, once for the magic and its
subcommand modules (``_notify_magic``, ``_export_magic``): no sidecar is a UsageError that
says how to start one, a refusal is a UsageError with the sidecar's own message."""
from __future__ import annotations

from typing import Any, Tuple

from IPython.core.error import UsageError

from . import _sidecar

NOT_RUNNING = "No Vigilo sidecar is running. Start it with: %vigilo"


def running(data_dir) -> dict:
    """The discovery of the sidecar that answers, or UsageError."""
    discovery = _sidecar.read_discovery(data_dir)
    if not _sidecar.probe(discovery):
        raise UsageError(NOT_RUNNING)
    return discovery  # type: ignore[return-value]


def call(data_dir, method: str, path: str, body: Any = None, what: str = "%vigilo", timeout: float = 5.0) -> Tuple[dict, Any]:
    """One request to the running sidecar: (discovery, answer), or UsageError ``"<what>: <the sidecar's message>"``."""
    discovery = running(data_dir)
    status, answer = _sidecar.request(discovery, method, path, body, timeout=timeout)
    if status >= 400:
        raise UsageError(f"{what}: {_sidecar.error_message(answer)}")
    return discovery, answer
