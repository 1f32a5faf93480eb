"""LLM call telemetry for the notebook's Python: ``wrap``, ``track``, ``flush``, ``configure``.

    import vigilo
    client = vigilo.wrap(OpenAI())            # or Anthropic(), genai.Client(), the Async* clients
    with vigilo.track(conversation_id="support-42"):
        client.chat.completions.create(...)

Raw facts only (model, the provider's own usage object, timings, status, and
the messages unless content capture is off) go to the sidecar's
``POST /llm/events`` in the background; prices, normalised tokens, health and
budgets are computed there, in TypeScript. See docs/LLM-python.md.

Standard library only: the SDKs are the user's own and are never imported here.
"""
from __future__ import annotations

from typing import Any, Optional

from ._delivery import BudgetExceededError, runtime
from ._registry import instrument_loaded_sdks, wrap
from ._track import track

__all__ = ["wrap", "track", "flush", "configure", "stats", "BudgetExceededError"]

_UNSET: Any = object()

# SDKs (and LiteLLM) already imported are instrumented now, not only at the first track() block: a framework
# that binds the SDK's method on its first call (``with_raw_response``) would otherwise keep the untracked one.
# Outside a block the class-level wrappers call the SDK at once and record nothing.
instrument_loaded_sdks()


def flush(timeout: float = 5.0) -> bool:
    """Deliver the buffered events now, those in memory and those on disk. True when all were stored within
    ``timeout`` seconds and none was lost since the previous flush.

    With the sidecar unreachable it returns False at once and the events stay
    buffered (in memory, then on disk under the data dir) for the next attempt.
    Called automatically at interpreter exit; what it cannot deliver then is
    written to disk for the next process.
    """
    return runtime().flush(timeout)


def configure(
    *,
    url: Optional[str] = _UNSET,
    token: Optional[str] = _UNSET,
    data_dir: Optional[str] = _UNSET,
    capture_content: Optional[bool] = _UNSET,
    hard_budget: bool = _UNSET,
    max_queue: int = _UNSET,
    max_spool_bytes: int = _UNSET,
    batch_size: int = _UNSET,
    batch_window: float = _UNSET,
    send_interval: float = _UNSET,
    request_timeout: float = _UNSET,
) -> None:
    """Change how events are delivered; only the arguments given change.

    url, token       the sidecar to send to (default: found through <data dir>/sidecar.json)
    data_dir         where to look for sidecar.json (default: $VIGILO_DATA_DIR, XDG, ~/.local/share/vigilo)
    capture_content  send message text and output (default True; VIGILO_CAPTURE_CONTENT=0 turns it off;
                     None goes back to the environment variable)
    hard_budget      refuse calls with BudgetExceededError once the sidecar says a hard budget is spent (off)
    max_queue        events kept in memory while the sidecar is away (10 000); past that the oldest are
                     written to <data dir>/llm-spool/ (0600) and sent when a sidecar answers again
    max_spool_bytes  bytes of events kept on disk (64 MiB); events past that are dropped and counted
    batch_size       events per POST (at most 500)
    batch_window     seconds the sender waits after a call that finds it idle, before sending (0)
    send_interval    seconds between two POSTs at least (1.0): a lone call is sent at once, the calls of a loop
                     travel together once a second
    request_timeout  seconds per POST to the sidecar (5)
    """
    cfg = runtime().config
    if url is not _UNSET:
        cfg.url = url.rstrip("/") if url else None
    if token is not _UNSET:
        cfg.token = token
    if data_dir is not _UNSET:
        cfg.data_dir = None if data_dir is None else str(data_dir)
    if capture_content is not _UNSET:
        cfg.capture_content = None if capture_content is None else bool(capture_content)
    if hard_budget is not _UNSET:
        cfg.hard_budget = bool(hard_budget)
    if max_queue is not _UNSET:
        cfg.max_queue = max(1, int(max_queue))
    if max_spool_bytes is not _UNSET:
        cfg.max_spool_bytes = max(0, int(max_spool_bytes))
    if batch_window is not _UNSET:
        cfg.window_s = max(0.0, float(batch_window))
    if send_interval is not _UNSET:
        cfg.send_interval_s = max(0.0, float(send_interval))
    if batch_size is not _UNSET:
        cfg.batch_size = max(1, min(500, int(batch_size)))
    if request_timeout is not _UNSET:
        cfg.request_timeout = float(request_timeout)


def stats() -> "dict[str, Any]":
    """Counters since start: sent (duplicates: of those, resends the sidecar already had), spilled (written to
    disk), dropped (past the disk bound), failed (rejected by the sidecar), errors (vigilo's own failures,
    caught), trimmed and tooLarge (events over the sidecar's body limit); pending (in memory), spooled (waiting on
    disk under the data dir, any process's), lastError, lastDrop (why events were last dropped), and the last
    budget state."""
    return runtime().stats()
