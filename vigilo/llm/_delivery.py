"""Delivery of call events to the sidecar, off the caller's thread.

One process-wide ``Runtime`` (made on first use, never at import) holds the
configuration, a bounded buffer, the sender thread and the counters.

- ``enqueue`` is all a wrapped call pays: a lock, an append, a notify. When
  the buffer is full the oldest event is dropped and counted.
- The sender is a daemon thread started on the first event. It turns queued
  call records into events (``record.build()``), POSTs them in batches of at
  most 500 to ``/llm/events`` and backs off (1 s doubling to 30 s) while the
  sidecar is unreachable, keeping the events buffered meanwhile.
- ``flush`` sends from the caller's thread, under the same lock as the
  sender, until the buffer is empty or the deadline passes.
- A batch over the sidecar's body limit (known: 1 MiB; or answered 413) is
  split in halves, each sent again; an event too large on its own is sent without its captured
  content (``messages``, ``output``: the usage facts stay) and counted as
  ``trimmed``, or, still too large, dropped and counted as ``tooLarge``. The
  other events of the batch are never lost to it.
- The sidecar is found through ``<data dir>/sidecar.json``, read again on
  every send (a restarted sidecar has a new port and token), unless
  ``configure(url=..., token=...)`` named one.
- Every failure in here is caught and counted; nothing is raised to the user.
"""
from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections import deque
from typing import Any, Callable, Optional

from .. import _sidecar

MAX_BATCH = 500
MAX_BACKOFF_S = 30.0
_OFF = {"0", "false", "no", "off"}


class BudgetExceededError(RuntimeError):
    """Raised before a call is sent when ``configure(hard_budget=True)`` and the sidecar says the budget is spent."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Vigilo refused the LLM call: {reason}")
        self.reason = reason


class Config:
    """What ``vigilo.configure`` sets. ``None`` means "use the default"."""

    def __init__(self) -> None:
        self.url: Optional[str] = None
        self.token: Optional[str] = None
        self.data_dir: Optional[str] = None
        self.capture_content: Optional[bool] = None
        self.hard_budget = False
        self.max_queue = 10_000
        self.batch_size = MAX_BATCH
        self.request_timeout = 5.0
        # The sidecar's JSON body limit is 1 MiB (express.json's '1mb'): a batch is sent in
        # parts under this, so an oversized body is never uploaded just to be refused. A
        # sidecar with a lower limit answers 413, and the same splitting applies.
        self.max_body_bytes = 1_000_000
        self.exit_timeout = 2.0
        # Monotonic clock for latency and time to first token; tests inject their own.
        self.clock: Callable[[], float] = time.perf_counter

    def capture(self) -> bool:
        if self.capture_content is not None:
            return self.capture_content
        return os.environ.get("VIGILO_CAPTURE_CONTENT", "1").strip().lower() not in _OFF


class Runtime:
    def __init__(self) -> None:
        self.config = Config()
        self._init_sync()
        self._counters = {"sent": 0, "dropped": 0, "failed": 0, "errors": 0, "trimmed": 0, "tooLarge": 0}
        self._last_error: Optional[str] = None
        # Events lost (dropped, failed, too large) up to the last flush() that said so:
        # flush() answers False when any were lost since, even if the background sender
        # lost them before flush() began.
        self._losses_reported = 0
        self.budget: "dict[str, Any]" = {"hardStop": False, "reason": None}
        self._budget_refresh_at = 0.0
        self._atexit_registered = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._init_sync)

    def _init_sync(self) -> None:
        # Also the child's half of a fork: the sender thread does not exist there and a
        # lock may have been held by it at the moment of the fork.
        self._cond = threading.Condition(threading.Lock())
        self._send_lock = threading.Lock()
        self._queue: "deque[Any]" = deque() if not hasattr(self, "_queue") else deque(self._queue)
        self._thread: Optional[threading.Thread] = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._want_budget = False

    # ----------------------------------------------------------------- counters
    def count(self, name: str, n: int = 1, error: Optional[str] = None) -> None:
        with self._cond:
            self._counters[name] += n
            if error is not None:
                self._last_error = error

    def stats(self) -> "dict[str, Any]":
        with self._cond:
            out: "dict[str, Any]" = dict(self._counters)
            out["pending"] = len(self._queue)
            out["lastError"] = self._last_error
            out["budget"] = dict(self.budget)
        return out

    # -------------------------------------------------------------------- queue
    def enqueue(self, item: Any) -> None:
        """Buffer one call record (anything with ``build() -> dict``) or a ready event dict."""
        with self._cond:
            self._drop_oldest(room=1)
            self._queue.append(item)
            self._ensure_thread()
            self._cond.notify()

    def _drop_oldest(self, room: int = 0) -> None:
        """Drop (and count) the oldest events until the buffer has ``room`` free places. Call with _cond held."""
        limit = max(1, int(self.config.max_queue))
        while len(self._queue) > limit - room:
            self._queue.popleft()
            self._counters["dropped"] += 1

    def request_budget_refresh(self) -> None:
        """Ask the sidecar for the budget state again (a refused call sends no event to learn it from)."""
        now = time.monotonic()
        with self._cond:
            if now < self._budget_refresh_at:
                return
            self._budget_refresh_at = now + 5.0
            self._want_budget = True
            self._ensure_thread()
            self._cond.notify()

    def _ensure_thread(self) -> None:
        # Called with self._cond held.
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run, name="vigilo-llm-sender", daemon=True)
        self._thread.start()
        if not self._atexit_registered:
            self._atexit_registered = True
            atexit.register(self._flush_at_exit)

    def _flush_at_exit(self) -> None:
        try:
            self.flush(self.config.exit_timeout)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    # ------------------------------------------------------------------- sender
    def _run(self) -> None:
        while True:
            try:
                with self._cond:
                    while True:
                        has_work = bool(self._queue) or self._want_budget
                        wait = self._retry_at - time.monotonic()
                        if has_work and wait <= 0:
                            break
                        self._cond.wait(wait if has_work else None)
                with self._send_lock:
                    self._send_once()
            except Exception as err:  # never let the sender die
                self.count("errors", error=f"sender: {type(err).__name__}: {err}")

    def flush(self, timeout: float = 5.0) -> bool:
        """Send what is buffered now (and ask for the budget while calls are refused).
        True when the buffer is empty, every send succeeded and no event was lost since
        the previous flush (the background sender may have lost one before this call)."""
        delivered = self._flush(timeout)
        with self._cond:
            return self._nothing_lost_since_last_flush() and delivered

    def _flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, float(timeout))
        if self.config.hard_budget and self.budget.get("hardStop"):
            with self._cond:  # calls are being refused: learn the current budget state too
                self._want_budget = True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._send_lock.acquire(timeout=remaining):
                return False
            try:
                with self._cond:
                    if not self._queue and not self._want_budget:
                        return True
                if not self._send_once(deadline):
                    return False
            except Exception as err:
                self.count("errors", error=f"flush: {type(err).__name__}: {err}")
                return False
            finally:
                self._send_lock.release()

    def _nothing_lost_since_last_flush(self) -> bool:
        """Call with _cond held."""
        lost = self._counters["dropped"] + self._counters["failed"] + self._counters["tooLarge"]
        clean = lost == self._losses_reported
        self._losses_reported = lost
        return clean

    def _target(self) -> Optional[dict]:
        cfg = self.config
        if cfg.url:
            return {"url": cfg.url, "token": cfg.token or ""}
        return _sidecar.read_discovery(cfg.data_dir)

    def _send_once(self, deadline: Optional[float] = None) -> bool:
        """One POST of up to a batch of events (or an empty one for the budget). Call with _send_lock held."""
        with self._cond:
            n = min(max(1, int(self.config.batch_size)), MAX_BATCH, len(self._queue))
            items = [self._queue.popleft() for _ in range(n)]
            self._want_budget = False
        events = []
        for item in items:
            if isinstance(item, dict):
                events.append(item)
                continue
            try:
                events.append(item.build())
            except Exception as err:
                self.count("errors", error=f"building an event: {type(err).__name__}: {err}")
        if items and not events:
            return True
        target = self._target()
        if target is None:
            return self._retry_later(events, "no sidecar: no discovery file and no configure(url=...)")
        # Parts still to send, in order; a part the sidecar finds too large is
        # replaced by its halves (one event: by its trimmed copy) at the front.
        parts: "list[list[dict]]" = [events]
        ok = True
        while parts:
            part = parts.pop(0)
            try:
                data = json.dumps({"events": part}, separators=(",", ":")).encode("utf-8")
            except (TypeError, ValueError) as err:
                self.count("failed", len(part), error=f"{len(part)} event(s) are not JSON: {err}")
                ok = False
                continue
            if len(data) > self.config.max_body_bytes:
                status, body = 413, None  # over the sidecar's limit: not uploaded just to be refused
            else:
                timeout = self.config.request_timeout
                if deadline is not None:
                    timeout = max(0.05, min(timeout, deadline - time.monotonic()))
                try:
                    status, body = _sidecar.request(target, "POST", "/llm/events", data, timeout=timeout)
                except Exception as err:
                    return self._retry_later(_joined(part, parts), f"sidecar unreachable: {type(err).__name__}: {err}")
            if 200 <= status < 300:
                self._accepted(part, body)
            elif status == 413:
                smaller = _smaller(part)
                if smaller is None:
                    self.count("tooLarge", error=f"an event of {_size(part[0])} bytes was too large for the sidecar even without its content; dropped")
                    ok = False
                else:
                    parts[:0] = smaller
            elif status in (401, 403) or status >= 500 or status == 429:
                # A restarted sidecar has a new token (the file is read again next time); 5xx may pass.
                return self._retry_later(_joined(part, parts), f"sidecar answered {status}")
            else:
                # Any other 4xx: these events will never be accepted; drop them, say why.
                detail = body.get("message") or body.get("error") if isinstance(body, dict) else body
                self.count("failed", len(part), error=f"sidecar rejected {len(part)} event(s) with {status}: {str(detail)[:300]}")
                ok = False
        return ok

    def _accepted(self, part: "list[dict]", body: Any) -> None:
        budget = body.get("budget") if isinstance(body, dict) else None
        trimmed = sum(1 for e in part if TRIMMED_TAG in (e.get("tags") or {}))
        with self._cond:
            self._counters["sent"] += len(part)
            if trimmed:
                self._counters["trimmed"] += trimmed
                self._last_error = f"{trimmed} event(s) too large for the sidecar were sent without their content"
            self._backoff = 0.0
            self._retry_at = 0.0
            if isinstance(budget, dict) and isinstance(budget.get("hardStop"), bool):
                self.budget = {"hardStop": budget["hardStop"], "reason": budget.get("reason")}

    def _retry_later(self, events: "list[dict]", why: str) -> bool:
        with self._cond:
            self._last_error = why
            # Back at the front, oldest first; what no longer fits is dropped (oldest first).
            self._queue.extendleft(reversed(events))
            self._drop_oldest()
            self._backoff = min(MAX_BACKOFF_S, max(1.0, self._backoff * 2))
            self._retry_at = time.monotonic() + self._backoff
            if not events:
                self._want_budget = True
        return False

    # ------------------------------------------------------------------- budget
    def check_budget(self) -> None:
        if self.config.hard_budget and self.budget.get("hardStop"):
            self.request_budget_refresh()
            raise BudgetExceededError(self.budget.get("reason") or "the LLM budget is exhausted")


#: Tag set on an event sent without its content because it was too large.
TRIMMED_TAG = "vigilo.trimmed"


def _joined(part: "list[dict]", rest: "list[list[dict]]") -> "list[dict]":
    return [e for chunk in [part, *rest] for e in chunk]


def _size(event: dict) -> int:
    return len(json.dumps(event, separators=(",", ":"), default=str))


def _smaller(part: "list[dict]") -> "Optional[list[list[dict]]]":
    """What to send instead of a part the sidecar found too large: its two halves;
    for one event, the event without its captured content; None when nothing is left to cut."""
    if len(part) > 1:
        mid = len(part) // 2
        return [part[:mid], part[mid:]]
    event = part[0]
    if event.get("messages") is None and event.get("output") is None:
        return None
    tags = dict(event.get("tags") or {})
    tags[TRIMMED_TAG] = "messages and output left out: the event was larger than the sidecar accepts"
    return [[{**event, "messages": None, "output": None, "tags": tags}]]


_runtime: Optional[Runtime] = None
_runtime_lock = threading.Lock()


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = Runtime()
    return _runtime
