"""The restart record of a data dir: ``<data dir>/restarts.json`` (0600).

Written by the launcher (vigilo/_sidecar.py) under the data dir's start lock, so
every kernel of the data dir sees the same count; read by each new sidecar at
start, which reports it in ``GET /status`` (``restarts``). Standard library only.

    {"count": 3,                       restarts (a sidecar answering in place of a dead one), ever
     "last": {"atMs": ..., "reason": "sidecar pid 123 exited", "previousPid": 123},
     "pending": null,                  the restart under way (same shape), counted once it answers
     "failedStarts": 0,                consecutive starts that never answered
     "lastFailure": {"atMs": ..., "error": "The sidecar exited with code 1"}}

The kernels' heartbeats restart a dead sidecar with a backoff after each failed
start (1 s, 2 s, 4 s ... at most 30 s) and stop after ``MAX_FAILED_STARTS`` in a
row; ``%vigilo`` (an explicit start) always tries, and a start that answers
sets ``failedStarts`` back to 0.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

RECORD_FILE = "restarts.json"
MAX_FAILED_STARTS = 5
MAX_BACKOFF_S = 30.0


def read(directory: Path) -> "dict[str, Any]":
    """The record, with defaults for a data dir that never restarted (or a damaged file)."""
    record: "dict[str, Any]" = {"count": 0, "last": None, "pending": None, "failedStarts": 0, "lastFailure": None}
    try:
        with open(directory / RECORD_FILE, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return record
    if isinstance(data, dict):
        for key, kind in (("count", int), ("failedStarts", int), ("last", dict), ("pending", dict), ("lastFailure", dict)):
            if isinstance(data.get(key), kind) and not isinstance(data.get(key), bool):
                record[key] = data[key]
    return record


def _write(directory: Path, record: "dict[str, Any]") -> None:
    """Atomically (temp file, rename), mode 0600. A data dir that refuses the write
    keeps its previous record: the restart itself is not stopped by it."""
    tmp = directory / f".{RECORD_FILE}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.replace(tmp, directory / RECORD_FILE)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def record_failed_start(directory: Path, error: str, now_s: float) -> "dict[str, Any]":
    record = read(directory)
    record["failedStarts"] += 1
    record["lastFailure"] = {"atMs": int(now_s * 1000), "error": error[:500]}
    _write(directory, record)
    return record


def record_pending(directory: Path, reason: str, previous_pid: Any, now_s: float) -> None:
    """A start about to replace a dead sidecar: the new sidecar reads this at start."""
    record = read(directory)
    record["pending"] = {"atMs": int(now_s * 1000), "reason": reason, "previousPid": previous_pid if isinstance(previous_pid, int) else None}
    _write(directory, record)


def record_started(directory: Path) -> None:
    """A sidecar answers: failed starts go back to 0, and a pending restart is counted."""
    record = read(directory)
    if not record["failedStarts"] and not record["pending"]:
        return
    record["failedStarts"] = 0
    if record["pending"]:
        record["count"] += 1
        record["last"] = record["pending"]
        record["pending"] = None
    _write(directory, record)


def backoff_s(failed_starts: int) -> float:
    """Wait after ``failed_starts`` failed starts in a row before the next try."""
    return 0.0 if failed_starts <= 0 else min(MAX_BACKOFF_S, 2.0 ** (failed_starts - 1))


def next_try_s(record: "dict[str, Any]") -> float:
    """Epoch seconds before which a heartbeat does not try again (0: now)."""
    failure = record.get("lastFailure")
    if not record["failedStarts"] or not isinstance(failure, dict):
        return 0.0
    return float(failure.get("atMs", 0)) / 1000 + backoff_s(record["failedStarts"])


def gave_up(record: "dict[str, Any]") -> Optional[str]:
    """The message once restarts stopped (``MAX_FAILED_STARTS`` failed starts in a row), else None."""
    if record["failedStarts"] < MAX_FAILED_STARTS:
        return None
    error = (record.get("lastFailure") or {}).get("error", "no answer")
    return (
        f"Vigilo's sidecar failed to start {record['failedStarts']} times in a row (last: {error}); "
        "it is not restarted automatically any more. Fix the cause shown in sidecar.log, then run %vigilo to start it."
    )
