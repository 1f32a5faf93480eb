"""Delivery of call events to the sidecar, off the caller's thread (core; imports no SDK module).

One process-wide ``Runtime`` (made on first use, never at import) holds the
configuration, the buffer, the sender thread and the counters.

- ``enqueue`` is all a wrapped call pays: an append to a deque and a look at
  one flag. Only when the sender sleeps idle does the call wake it (a lock and
  a notify), once per burst: no per-call lock, no per-call thread switch.
- The sender is a daemon thread started on the first event. It sends at most
  once per ``send_interval_s`` (1 s): a call made more than a second after the
  last delivery is sent at once (after ``window_s``, 0 by default), a call made
  within that second waits for it to end (``next_send_at``). So a lone call
  reaches the sidecar within milliseconds, while the calls of a loop travel
  together, once a second, however fast they come. Sending at once, not 0.1 s
  later, costs less CPU: the sender runs while the call's objects are still in
  the CPU's caches (bench/llm_overhead_python.py --cpu). Then it turns
  the call records into events (``record.build()``, the event's id included),
  and POSTs them in batches of at most 500 to ``/llm/events`` over one kept-alive
  connection (``_transport``). Between two events it lets the GIL go, so the
  caller's threads never wait for a whole batch to be built.
- While the sidecar is unreachable it retries with a backoff (0.5 s doubling
  to 5 s). ``<data dir>/sidecar.json`` is read again whenever it changed (its
  inode, size or mtime: a restarted sidecar writes a new one with a new port and
  token), unless ``configure(url=...)`` named a sidecar.
- Undelivered events stay in memory up to ``max_queue``; past that the oldest
  are written to disk (``_spool``: ``<data dir>/llm-spool/``, 0600, at most
  ``max_spool_bytes``), and so is whatever is left at interpreter exit. Events
  on disk are sent, by this process or the next one on the data dir, once a
  sidecar answers. Each event keeps its id, and the sidecar ignores an id it
  already has, so a resend is never counted twice. Events past the disk bound
  are dropped and counted (``stats()["dropped"]``).
- ``flush`` sends from the caller's thread, under the same lock as the
  sender, until memory and disk are empty or the deadline passes.
- A batch over the sidecar's body limit (known: 1 MiB; or answered 413) is
  split in halves, each sent again; an event too large on its own is sent without its captured
  content (``messages``, ``output``: the usage facts stay) and counted as
  ``trimmed``, or, still too large, dropped and counted as ``tooLarge``. The
  other events of the batch are never lost to it.
- Every failure in here is caught and counted; nothing is raised to the user.
"""
from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, Optional

from .. import _sidecar
from .._paths import data_dir as default_data_dir
from ._spool import Spool
from ._transport import Connection

MAX_BATCH = 500
MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 5.0
_OFF = {"0", "false", "no", "off"}
#: The sender lets the GIL go (``time.sleep(0)``, about 10 µs) after building or encoding this many events: each
#: holds it for about 20 µs, so the caller's threads never wait long, and the yield is not paid per event.
_YIELD_EVERY = 16
#: Tag set on an event sent without its content because it was too large.
TRIMMED_TAG = "vigilo.trimmed"


# VIGILO_CAPTURE_CONTENT is read on every call (changing it takes effect at the next call), and the variables that
# place the data dir on every send. os.environ.get() goes through the Mapping ABC, the key's encoding and the value's
# decoding: about 25 µs on the cold cache of a call made seconds after the last one. Where CPython keeps the
# environment in os.environ._data (every platform, so far; setting os.environ updates it) a read is one dict access.
_ENV_DATA = getattr(os.environ, "_data", None)
_ENV_KEYS: "dict[str, Any]" = {}


def _env(name: str) -> Optional[str]:
    if _ENV_DATA is None or not hasattr(os.environ, "encodekey") or not hasattr(os.environ, "decodevalue"):
        return os.environ.get(name)
    key = _ENV_KEYS.get(name)
    if key is None:
        key = _ENV_KEYS[name] = os.environ.encodekey(name)
    raw = _ENV_DATA.get(key)
    return None if raw is None else os.environ.decodevalue(raw)  # os.environ's own decoding (its encoding, its errors)


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
        self.max_spool_bytes = 64 * 1024 * 1024
        self.batch_size = MAX_BATCH
        self.request_timeout = 5.0
        # After a call that finds the sender idle, it waits this long before sending (the send interval aside).
        self.window_s = 0.0
        # While calls keep coming, at most one delivery per this many seconds (next_send_at).
        self.send_interval_s = 1.0
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
        raw = _env("VIGILO_CAPTURE_CONTENT")
        return raw is None or raw.strip().lower() not in _OFF

    def directory(self) -> Path:
        return Path(self.data_dir) if self.data_dir else default_data_dir()


class Runtime:
    def __init__(self) -> None:
        self.config = Config()
        self._counters = {"sent": 0, "duplicates": 0, "dropped": 0, "failed": 0, "errors": 0, "trimmed": 0, "tooLarge": 0, "spilled": 0}
        self._last_error: Optional[str] = None
        self._last_drop: Optional[str] = None  # why events were last dropped (lastError moves on)
        # Events lost (dropped, failed, too large) up to the last flush() that said so:
        # flush() answers False when any were lost since, even if the background sender
        # lost them before flush() began.
        self._losses_reported = 0
        self.budget: "dict[str, Any]" = {"hardStop": False, "reason": None}
        self._budget_refresh_at = 0.0
        self._atexit_registered = False
        self._closed = False
        self._init_sync()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._init_sync)

    def _init_sync(self) -> None:
        # Also the child's half of a fork: the sender thread does not exist there, a lock may have been held by it
        # at the moment of the fork, and the buffer is the parent's to deliver (the child starts empty).
        self._cond = threading.Condition(threading.Lock())
        self._send_lock = threading.Lock()
        self._queue: "deque[Any]" = deque()
        self._in_flight = 0  # events taken from the queue for a request not answered yet
        self._thread: Optional[threading.Thread] = None
        self._awake = False  # the sender is busy (or about to be): a new event needs no wake-up
        self._retry_at = 0.0
        self._backoff = 0.0
        self._want_budget = False
        self._spool_hint = True  # events may wait on disk (from an earlier process): look once
        self._connection = Connection()
        self._last_send = float("-inf")  # monotonic start of the last delivery
        # The discovery file's content, and the (path, inode, size, mtime) it was read at.
        self._discovery: Optional[dict] = None
        self._discovery_key: Optional[tuple] = None
        self._discovery_where: Optional[tuple] = None
        self._discovery_path = ""

    # ----------------------------------------------------------------- counters
    def count(self, name: str, n: int = 1, error: Optional[str] = None) -> None:
        with self._cond:
            self._counters[name] += n
            if error is not None:
                self._last_error = error

    def stats(self) -> "dict[str, Any]":
        try:
            spooled = self._spool().usage()[0]
        except OSError:
            spooled = None
        with self._cond:
            out: "dict[str, Any]" = dict(self._counters)
            out["pending"] = len(self._queue) + self._in_flight
            out["spooled"] = spooled
            out["lastError"] = self._last_error
            out["lastDrop"] = self._last_drop
            out["budget"] = dict(self.budget)
        return out

    def delivery_facts(self) -> "dict[str, Any]":
        """The heartbeat's ``llm.delivery`` (LlmDeliveryFacts in src/shared/llm-api.ts): events dropped past the
        bound and why, events waiting in memory and on disk (any process's; None when the folder cannot be read)."""
        stats = self.stats()
        why = stats["lastDrop"]
        if why is not None and len(why) > 500:  # the sidecar takes at most 500 characters
            why = why[:497] + "..."
        return {"dropped": stats["dropped"], "lastDrop": why, "pending": stats["pending"], "spooled": stats["spooled"]}

    def _spool(self) -> Spool:
        return Spool(self.config.directory(), int(self.config.max_spool_bytes))

    # -------------------------------------------------------------------- queue
    def enqueue(self, item: Any) -> None:
        """Buffer one call record (anything with ``build() -> dict``) or a ready event dict. The caller's hot path."""
        queue = self._queue
        queue.append(item)
        if not self._awake or len(queue) > self.config.max_queue:
            self._wake()

    def _wake(self) -> None:
        with self._cond:
            # The sender cannot keep up (it is stuck in a request, or a test holds it): memory stays bounded.
            limit = 2 * max(1, int(self.config.max_queue))
            while len(self._queue) > limit:
                self._queue.popleft()
                self._counters["dropped"] += 1
                self._last_error = self._last_drop = "the sender could not keep up: the oldest events were dropped"
            self._ensure_thread()
            self._cond.notify()

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
        if self._closed or (self._thread is not None and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self._run, name="vigilo-llm-sender", daemon=True)
        self._thread.start()
        if not self._atexit_registered:
            self._atexit_registered = True
            atexit.register(self._flush_at_exit)

    def close(self) -> None:
        """Stop delivering (the sender thread ends; nothing more at exit). What is buffered stays unsent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._connection.close()

    def _flush_at_exit(self) -> None:
        """Deliver what is left; what cannot be delivered now goes to disk for the next process."""
        if self._closed:
            return
        try:
            if self.flush(self.config.exit_timeout) or not self._send_lock.acquire(timeout=0.5):
                return
            try:
                with self._cond:
                    items = list(self._queue)
                    self._queue.clear()
                self._spill(self._build(items))
            finally:
                self._send_lock.release()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    # ------------------------------------------------------------------- sender
    def _run(self) -> None:
        while True:
            try:
                with self._cond:
                    self._awake = False
                    while True:
                        if self._closed:
                            return
                        overflow = len(self._queue) > self.config.max_queue
                        due = bool(self._queue) or self._want_budget or self._spool_hint
                        wait = self._retry_at - time.monotonic()
                        if overflow or (due and wait <= 0):
                            break
                        self._cond.wait(wait if due else None)
                    self._awake = True
                    if not overflow:
                        # Coalesce: the calls of the window (and, while calls keep coming, of the rest of the
                        # send interval) go in the same request.
                        cfg = self.config
                        until = next_send_at(time.monotonic(), self._last_send, cfg.window_s, cfg.send_interval_s)
                        while not self._closed and len(self._queue) <= cfg.max_queue:
                            left = until - time.monotonic()
                            if left <= 0:
                                break
                            self._cond.wait(left)
                self._last_send = time.monotonic()
                with self._send_lock:
                    self._pass()
            except Exception as err:  # never let the sender die
                self.count("errors", error=f"sender: {type(err).__name__}: {err}")
                with self._cond:
                    self._retry_at = time.monotonic() + MIN_BACKOFF_S

    def _pass(self) -> None:
        """One round of the sender: memory, then one file from disk; what memory cannot hold goes to disk.
        Call with _send_lock held."""
        if self._send_memory(None) and self._spool_hint:
            self._send_spooled(None, every=False)
        self._spill_overflow()

    def flush(self, timeout: float = 5.0) -> bool:
        """Send what is buffered now, in memory and on disk (and ask for the budget while calls are refused).
        True when all was stored, every send succeeded and no event was lost since the previous flush
        (the background sender may have lost one before this call)."""
        delivered = self._flush(timeout)
        with self._cond:
            return self._nothing_lost_since_last_flush() and delivered

    def _flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, float(timeout))
        if self.config.hard_budget and self.budget.get("hardStop"):
            with self._cond:  # calls are being refused: learn the current budget state too
                self._want_budget = True
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not self._send_lock.acquire(timeout=remaining):
            return False
        try:
            return self._send_memory(deadline) and self._send_spooled(deadline, every=True)
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
        """Where to send: ``configure(url=...)``, else the discovery file, read again only when it changed."""
        cfg = self.config
        if cfg.url:
            return {"url": cfg.url, "token": cfg.token or ""}
        # pathlib on every send cost ~50 µs per call on a cold cache: the path is made again only when what places
        # the data dir changed (configure(data_dir=...), $VIGILO_DATA_DIR, $XDG_DATA_HOME, $HOME).
        where = (cfg.data_dir, _env("VIGILO_DATA_DIR"), _env("XDG_DATA_HOME"), _env("HOME"))
        if where != self._discovery_where:
            self._discovery_where, self._discovery_path = where, str(cfg.directory() / _sidecar.DISCOVERY_FILE)
        path = self._discovery_path
        try:
            st = os.stat(path)
        except OSError:
            self._discovery = self._discovery_key = None
            return None
        key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
        if key != self._discovery_key:
            self._discovery = _sidecar.read_discovery(os.path.dirname(path))
            self._discovery_key = key if self._discovery is not None else None
        return self._discovery

    # ----------------------------------------------------------------- sending
    def _build(self, items: "list[Any]") -> "list[dict]":
        """Call records into events (on the sender's thread), letting the GIL go every few (``_YIELD_EVERY``)."""
        events = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                events.append(item)
                continue
            if i and not i % _YIELD_EVERY:
                time.sleep(0)
            try:
                events.append(item.build())
            except Exception as err:
                self.count("errors", error=f"building an event: {type(err).__name__}: {err}")
        return events

    def _send_memory(self, deadline: Optional[float]) -> bool:
        """POST the buffered events in batches (an empty one when only the budget is wanted). False when the
        sidecar could not take them (they are back in the buffer). Call with _send_lock held."""
        while True:
            with self._cond:
                if not self._queue and not self._want_budget:
                    return True
                n = min(max(1, int(self.config.batch_size)), MAX_BATCH, len(self._queue))
                items = [self._queue.popleft() for _ in range(n)]
                self._in_flight = n  # still pending for stats() while the request is out
                self._want_budget = False
            try:
                events = self._build(items)
                # (every event of the batch failed to build: counted as errors, nothing to send)
                unsent = self._post(events, deadline) if events or not items else None
            except BaseException:
                with self._cond:
                    self._in_flight = 0
                raise
            with self._cond:  # one step, so that stats() never sees them neither in flight nor queued
                self._in_flight = 0
                if unsent is not None:  # back at the front, oldest first
                    self._queue.extendleft(reversed(unsent))
                    if not unsent:
                        self._want_budget = True
            if unsent is not None:
                return False

    def _send_spooled(self, deadline: Optional[float], every: bool) -> bool:
        """POST the events waiting on disk, one file (``every``: all files). False when the sidecar could not take
        them (their rest goes back to disk). Call with _send_lock held."""
        spool = self._spool()
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if self._backoff and self._post([], deadline) is not None:
                return False  # the last request failed and the sidecar still does not answer: leave the files be
            claim = spool.claim()
            if claim is None:
                with self._cond:
                    self._spool_hint = False
                return True
            for start in range(0, len(claim.events), MAX_BATCH):
                unsent = self._post(claim.events[start : start + MAX_BATCH], deadline)
                if unsent is not None:
                    if start == 0 and len(unsent) == len(claim.events[:MAX_BATCH]):
                        claim.release()
                    else:
                        claim.give_back(unsent + claim.events[start + MAX_BATCH :])
                    return False
            claim.done()
            if not every:
                return True

    def _spill_overflow(self) -> None:
        """Past ``max_queue``, the oldest events go to disk until memory holds half of it. Call with _send_lock held."""
        with self._cond:
            limit = max(1, int(self.config.max_queue))
            if len(self._queue) <= limit:
                return
            items = [self._queue.popleft() for _ in range(len(self._queue) - limit // 2)]
        self._spill(self._build(items))

    def _spill(self, events: "list[dict]") -> None:
        if not events:
            return
        spool = self._spool()
        try:
            written = spool.write(events)
            why = f"the disk buffer ({spool.directory}, {spool.max_bytes // (1024 * 1024)} MiB) is full"
        except OSError as err:
            written, why = 0, f"cannot write them under {spool.directory}: {err}"
        with self._cond:
            self._counters["spilled"] += written
            if written:
                self._spool_hint = True
            if written < len(events):
                self._counters["dropped"] += len(events) - written
                self._last_error = f"{len(events) - written} undelivered event(s) dropped: {why}"
                self._last_drop = why  # the reason only: the count is `dropped` (the sidecar says both)

    def _post(self, events: "list[dict]", deadline: Optional[float]) -> "Optional[list[dict]]":
        """POST ``events`` (split as the body limit needs). None when each was stored or given up on (counted);
        else the events not sent yet, after a failure worth retrying (the backoff is set)."""
        target = self._target()
        if target is None:
            self._retry_later("no sidecar: no discovery file and no configure(url=...)")
            return events
        # Parts still to send, in order; a part the sidecar finds too large is
        # replaced by its halves (one event: by its trimmed copy) at the front.
        parts: "list[list[dict]]" = [events]
        while parts:
            part = parts.pop(0)
            try:
                data = _body(part)
            except (TypeError, ValueError) as err:
                self.count("failed", len(part), error=f"{len(part)} event(s) are not JSON: {err}")
                continue
            if len(data) > self.config.max_body_bytes:
                status, body = 413, None  # over the sidecar's limit: not uploaded just to be refused
            else:
                timeout = self.config.request_timeout
                if deadline is not None:
                    timeout = max(0.05, min(timeout, deadline - time.monotonic()))
                try:
                    status, body = self._connection.post(target["url"], target["token"], "/llm/events", data, timeout)
                except Exception as err:
                    self._retry_later(f"sidecar unreachable: {type(err).__name__}: {err}")
                    return _joined(part, parts)
            if 200 <= status < 300:
                self._accepted(part, body)
            elif status == 413:
                smaller = _smaller(part)
                if smaller is None:
                    self.count("tooLarge", error=f"an event of {_size(part[0])} bytes was too large for the sidecar even without its content; dropped")
                else:
                    parts[:0] = smaller
            elif status in (401, 403) or status >= 500 or status == 429:
                # A restarted sidecar has a new token (the file is read again next time); 5xx may pass.
                self._retry_later(f"sidecar answered {status}")
                return _joined(part, parts)
            else:
                # Any other 4xx: these events will never be accepted; drop them, say why.
                detail = body.get("message") or body.get("error") if isinstance(body, dict) else body
                self.count("failed", len(part), error=f"sidecar rejected {len(part)} event(s) with {status}: {str(detail)[:300]}")
        return None

    def _accepted(self, part: "list[dict]", body: Any) -> None:
        budget = body.get("budget") if isinstance(body, dict) else None
        duplicates = body.get("duplicates") if isinstance(body, dict) else None
        trimmed = sum(1 for e in part if TRIMMED_TAG in (e.get("tags") or {}))
        with self._cond:
            self._counters["sent"] += len(part)
            if isinstance(duplicates, int) and duplicates > 0:
                self._counters["duplicates"] += duplicates
            if trimmed:
                self._counters["trimmed"] += trimmed
                self._last_error = f"{trimmed} event(s) too large for the sidecar were sent without their content"
            self._backoff = 0.0
            self._retry_at = 0.0
            if isinstance(budget, dict) and isinstance(budget.get("hardStop"), bool):
                self.budget = {"hardStop": budget["hardStop"], "reason": budget.get("reason")}

    def _retry_later(self, why: str) -> None:
        self._discovery_key = None  # whatever the file said did not work: read it again next time
        with self._cond:
            self._last_error = why
            self._backoff = min(MAX_BACKOFF_S, max(MIN_BACKOFF_S, self._backoff * 2))
            self._retry_at = time.monotonic() + self._backoff

    # ------------------------------------------------------------------- budget
    def check_budget(self) -> None:
        if self.config.hard_budget and self.budget.get("hardStop"):
            self.request_budget_refresh()
            raise BudgetExceededError(self.budget.get("reason") or "the LLM budget is exhausted")


def next_send_at(now: float, last_send: float, window_s: float, send_interval_s: float) -> float:
    """When the sender, woken by a call at ``now`` (monotonic seconds), sends: after the coalescing window, and not
    before ``send_interval_s`` has passed since the last delivery began (``last_send``)."""
    return max(now + window_s, last_send + send_interval_s)


def _body(part: "list[dict]") -> bytes:
    """``{"events": [...]}``, encoded a few events at a time so that the GIL goes in between."""
    chunks = []
    for start in range(0, len(part), _YIELD_EVERY):
        if start:
            time.sleep(0)
        chunks.append(json.dumps(part[start : start + _YIELD_EVERY], separators=(",", ":"))[1:-1])
    return ('{"events":[' + ",".join(chunks) + "]}").encode("utf-8")


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


def current_runtime() -> Optional[Runtime]:
    """The runtime if one was made (an event was buffered or configure() was called), else None; never makes one."""
    return _runtime


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = Runtime()
    return _runtime
