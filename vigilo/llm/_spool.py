"""Undelivered call events on disk: ``<data dir>/llm-spool/`` (core; standard library only).

The delivery writes events here when its memory buffer would overflow (the sidecar is away) and at process exit;
whichever process delivers next (this one, or a new one on the same data dir) sends them and deletes the file.

- A file is written whole under a temporary name (0600, in a 0700 folder), then renamed into place, so a reader
  never sees half a file. Its name carries the time, the writer's pid and how many events it holds
  (``<ns>-<pid>-<random>-<n>.jsonl``): counting what waits on disk needs no read.
- A reader claims a file by renaming it to ``<name>.claimed-<pid>``: of two readers one wins. A claim whose
  process died (``_sidecar.pid_alive``) is taken over. Once all its events are stored, the file is deleted; a
  file only partly sent leaves its rest as a new file, one not sent at all goes back under its name. Each event keeps its id, so the sidecar never counts a
  resent event twice.
- The folder holds at most ``max_bytes``; events past that are not written (the delivery counts them dropped).
"""
from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Optional

from .. import _sidecar

FOLDER = "llm-spool"
_SUFFIX = ".jsonl"
_CLAIM = ".claimed-"


def _count_of(name: str) -> int:
    try:
        return int(name.split(_SUFFIX, 1)[0].rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


class Claim:
    """A file this process holds: its events, then ``done()`` or ``give_back(rest)``."""

    def __init__(self, spool: "Spool", path: Path, name: str, events: "list[dict]") -> None:
        self.spool = spool
        self.path = path
        self.name = name
        self.events = events

    def release(self) -> None:
        """None of its events was stored: the file goes back as it was, for the next try."""
        try:
            os.rename(self.path, self.path.with_name(self.name))
        except FileNotFoundError:
            pass

    def done(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def give_back(self, rest: "list[dict]") -> None:
        """The events not stored yet go back to disk (a new file; the bound was paid when they were first written)."""
        if rest:
            self.spool.write(rest, bounded=False)
        self.done()


class Spool:
    def __init__(self, directory: "str | os.PathLike[str]", max_bytes: int) -> None:
        self.directory = Path(directory) / FOLDER
        self.max_bytes = max_bytes

    # ----------------------------------------------------------------- reading the folder
    def _entries(self) -> "list[os.DirEntry[str]]":
        try:
            with os.scandir(self.directory) as it:
                return sorted((e for e in it if _SUFFIX in e.name and not e.name.startswith(".")), key=lambda e: e.name)
        except FileNotFoundError:
            return []

    def usage(self) -> "tuple[int, int]":
        """(events, bytes) waiting on disk, claimed ones included."""
        events = size = 0
        for entry in self._entries():
            events += _count_of(entry.name)
            try:
                size += entry.stat().st_size
            except FileNotFoundError:
                pass
        return events, size

    # ---------------------------------------------------------------------------- writing
    def write(self, events: "list[dict]", bounded: bool = True) -> int:
        """Write ``events`` (oldest first) as one file; returns how many were written: those that fit under
        ``max_bytes`` (all when not ``bounded``). Raises OSError when the folder cannot be written."""
        if not events:
            return 0
        lines = [json.dumps(e, separators=(",", ":")).encode("utf-8") + b"\n" for e in events]
        if bounded:
            room = self.max_bytes - self.usage()[1]
            fit = 0
            for line in lines:
                if len(line) > room:
                    break
                room -= len(line)
                fit += 1
            lines = lines[:fit]
        if not lines:
            return 0
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}-{len(lines)}{_SUFFIX}"
        tmp = self.directory / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(b"".join(lines))
            os.replace(tmp, self.directory / name)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise
        return len(lines)

    # --------------------------------------------------------------------------- claiming
    def claim(self) -> Optional[Claim]:
        """The oldest file no live process holds, claimed by this one; None when there is none."""
        me = os.getpid()
        for entry in self._entries():
            name, _, holder = entry.name.partition(_CLAIM)
            if holder:
                try:
                    pid = int(holder)
                except ValueError:
                    continue
                if pid != me and _sidecar.pid_alive(pid):
                    continue  # another live process is sending it
            target = self.directory / f"{name}{_CLAIM}{me}"
            try:
                os.rename(entry.path, target)
            except FileNotFoundError:
                continue  # another reader was first
            try:
                with open(target, "rb") as fh:
                    events = [json.loads(line) for line in fh if line.strip()]
            except (OSError, ValueError):
                # Unreadable (a disk error, or a file cut short by a crash mid-write before the rename): set aside.
                os.replace(target, self.directory / f".{name}.bad")
                continue
            return Claim(self, target, name, events)
        return None
