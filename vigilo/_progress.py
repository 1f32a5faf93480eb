"""Training progress as raw facts: ``vigilo.progress(step, total, name=...)``
and every tqdm bar of the kernel.

The heartbeat sends the latest state of each bar (n, total, elapsed seconds,
name, where it came from); the sidecar estimates the finish time and says
whether the run ends before the runtime does. Nothing here decides anything.

Cost: ``progress()`` is one dict lookup and a clock read. tqdm bars are not
patched per update: tqdm keeps every live bar in ``tqdm._instances`` and its
iterator writes ``n`` back at each refresh, so the heartbeat reads them there.
Only ``close`` is wrapped, once, so a bar that finished between two beats is
still reported as done. tqdm is never imported from here: the hook is
installed the first time a heartbeat finds ``tqdm.std`` in ``sys.modules``.
"""
from __future__ import annotations

import math
import sys
import threading
import time
import weakref
from typing import Dict, List, Optional

#: Most bars kept and sent (newest first); older closed bars are dropped.
MAX_BARS = 16
#: Closed bars are sent for this long after closing, then forgotten.
CLOSED_KEEP_S = 600.0
#: Longest name sent.
MAX_NAME = 80


def _clean_name(name) -> str:
    text = str(name if name is not None else "").strip()
    return text[:MAX_NAME]


class ProgressBoard:
    """The latest state of each progress bar of this kernel, read by the heartbeat."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        #: key -> fact dict (explicit bars and closed tqdm bars).
        self._bars: Dict[str, dict] = {}
        self._tqdm_class = None

    # -- explicit progress ------------------------------------------------
    def report(self, step, total=None, name="progress", source="explicit") -> None:
        now = self._clock()
        key = f"{source}:{name}"
        n = float(step)
        if not math.isfinite(n) or n < 0 or (total is not None and not math.isfinite(float(total))):
            return
        bar = self._bars.get(key)
        if bar is None or n < bar["n"] or bar["closed"]:
            # A new run under the same name (the step went back): start over.
            bar = {"id": key, "source": str(source), "name": _clean_name(name), "startMono": now, "closed": False}
            with self._lock:
                self._bars[key] = bar
                self._trim_locked(now)
        bar["n"] = n
        bar["total"] = float(total) if total is not None else None
        bar["lastMono"] = now
        if total is not None and n >= float(total):
            bar["closed"] = True
            bar["closedMono"] = now

    # -- tqdm ---------------------------------------------------------------
    def hook_tqdm(self) -> bool:
        """Wrap tqdm's ``close`` once, if tqdm is already imported. Returns whether tqdm is hooked.

        One wrapper serves every board that hooked it (the kernel's, a test's);
        it is removed when the last of them unhooks.
        """
        if self._tqdm_class is not None:
            return True
        std = sys.modules.get("tqdm.std")
        cls = getattr(std, "tqdm", None) if std is not None else None
        if cls is None:
            return False
        current = cls.close
        if not getattr(current, "_vigilo_hooked", False):
            original = current
            boards = weakref.WeakSet()

            def close(bar, *args, **kwargs):
                for board in list(boards):
                    try:
                        board._remember_closed(bar)
                    except Exception:  # telemetry never breaks the user's loop
                        pass
                return original(bar, *args, **kwargs)

            close._vigilo_hooked = True  # type: ignore[attr-defined]
            close._vigilo_original = original  # type: ignore[attr-defined]
            close._vigilo_boards = boards  # type: ignore[attr-defined]
            cls.close = close
            current = close
        current._vigilo_boards.add(self)
        self._tqdm_class = cls
        return True

    def unhook_tqdm(self) -> None:
        cls = self._tqdm_class
        self._tqdm_class = None
        if cls is None or not getattr(cls.close, "_vigilo_hooked", False):
            return
        boards = cls.close._vigilo_boards
        boards.discard(self)
        if not boards:
            cls.close = cls.close._vigilo_original

    def _tqdm_fact(self, bar) -> Optional[dict]:
        if getattr(bar, "disable", False) or not hasattr(bar, "n"):
            return None
        start = getattr(bar, "start_t", None)
        timer = getattr(bar, "_time", time.time)
        elapsed = max(0.0, timer() - start) if start is not None else 0.0
        total = getattr(bar, "total", None)
        return {
            "id": f"tqdm:{id(bar)}",
            "source": "tqdm",
            "name": _clean_name(getattr(bar, "desc", "") or ""),
            "n": float(bar.n),
            "total": float(total) if total else None,
            "elapsedS": round(elapsed, 3),
            "position": abs(int(getattr(bar, "pos", 0) or 0)),
            "closed": False,
        }

    def _remember_closed(self, bar) -> None:
        fact = self._tqdm_fact(bar) if hasattr(bar, "start_t") else None
        if fact is None:
            return
        now = self._clock()
        fact["closed"] = True
        fact["closedMono"] = now
        fact["frozenElapsedS"] = fact.pop("elapsedS")
        with self._lock:
            self._bars[fact["id"]] = fact
            self._trim_locked(now)

    def _live_tqdm(self) -> List[dict]:
        cls = self._tqdm_class
        if cls is None:
            return []
        for _attempt in range(3):
            try:
                bars = list(getattr(cls, "_instances", ()))
                break
            except RuntimeError:  # the set changed while copying: a bar was created
                continue
        else:
            return []
        facts = []
        for bar in bars:
            try:
                fact = self._tqdm_fact(bar)
            except Exception:
                fact = None
            if fact is not None:
                facts.append(fact)
        return facts

    # -- the heartbeat's view -------------------------------------------------
    def snapshot(self) -> List[dict]:
        """Facts for the heartbeat: every live tqdm bar and every explicit or recently closed bar."""
        self.hook_tqdm()
        now = self._clock()
        out = []
        seen = set()
        for fact in self._live_tqdm():
            seen.add(fact["id"])
            out.append(fact)
        with self._lock:
            self._trim_locked(now)
            stored = list(self._bars.values())
        for bar in stored:
            if bar["id"] in seen:
                continue
            if "frozenElapsedS" in bar:
                elapsed = bar["frozenElapsedS"]
            else:
                end = bar["closedMono"] if bar.get("closed") else now
                elapsed = max(0.0, end - bar["startMono"])
            fact = {
                "id": bar["id"],
                "source": bar["source"],
                "name": bar["name"],
                "n": bar["n"],
                "total": bar.get("total"),
                "elapsedS": round(elapsed, 3),
                "closed": bool(bar.get("closed")),
            }
            if "position" in bar:
                fact["position"] = bar["position"]
            if not fact["closed"] and "lastMono" in bar:
                fact["idleS"] = round(max(0.0, now - bar["lastMono"]), 3)
            out.append(fact)
        return out[:MAX_BARS]

    def _trim_locked(self, now: float) -> None:
        for key in [k for k, b in self._bars.items() if b.get("closed") and now - b.get("closedMono", now) > CLOSED_KEEP_S]:
            del self._bars[key]
        if len(self._bars) > MAX_BARS:
            oldest = sorted(self._bars, key=lambda k: self._bars[k].get("lastMono", self._bars[k].get("closedMono", 0.0)))
            for key in oldest[: len(self._bars) - MAX_BARS]:
                del self._bars[key]


_board: Optional[ProgressBoard] = None
_board_lock = threading.Lock()


def board() -> ProgressBoard:
    """The kernel's one progress board, created on first use (nothing at import)."""
    global _board
    if _board is None:
        with _board_lock:
            if _board is None:
                _board = ProgressBoard()
    return _board


def progress(step, total=None, name: str = "progress", source: str = "explicit") -> None:
    """Tell Vigilo how far a run has got: ``vigilo.progress(step, total, name="train")``.

    Call it as often as you like (it only stores the latest step); the
    heartbeat sends it to the sidecar, which estimates when the run finishes
    and whether the runtime lasts that long. A step lower than the previous
    one starts a new run under the same name; reaching ``total`` closes it.
    ``source`` names the caller (the Trainer/Lightning/Keras callbacks pass
    their own). Never raises into the caller's loop.
    """
    try:
        board().report(step, total, name=name, source=source)
    except (TypeError, ValueError):
        pass
