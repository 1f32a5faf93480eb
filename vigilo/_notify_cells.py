"""Cell start / end, for "a long cell finished" (docs/NOTIFY.md).

IPython's pre_run_cell / post_run_cell hooks time each cell; a cell that ran
at least ``FLOOR_S`` is reported to the sidecar (POST /notify/cell) from a
daemon thread, so the notebook never waits on it. The sidecar decides whether
that is "long" (the user's N minutes) and whether to send anything.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from . import _sidecar

#: Below this a cell is never "long" for any setting worth having; not reported (no request per cell).
FLOOR_S = 10.0


class CellTimer:
    def __init__(self, data_dir, kernel_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.data_dir = data_dir
        self.kernel_id = kernel_id
        self.clock = clock
        self.started: Optional[float] = None
        self.count = 0
        self.last_error: Optional[str] = None

    def pre(self, info: Any = None) -> None:
        self.started = self.clock()
        self.count = int(getattr(info, "execution_count", None) or self.count + 1)

    def post(self, result: Any = None) -> None:
        if self.started is None:
            return
        duration = self.clock() - self.started
        self.started = None
        if duration < FLOOR_S:
            return
        ok = bool(getattr(result, "success", True))
        count = int(getattr(result, "execution_count", None) or self.count)
        body = {"kernelId": self.kernel_id, "executionCount": count, "durationS": round(duration, 3), "ok": ok}
        threading.Thread(target=self._send, args=(body,), name="vigilo-cell", daemon=True).start()

    def _send(self, body: dict) -> None:
        try:
            discovery = _sidecar.read_discovery(self.data_dir)
            if discovery:
                _sidecar.request(discovery, "POST", "/notify/cell", body, timeout=3.0)
        except Exception as err:  # never into the user's cell
            self.last_error = str(err)


def register(shell, data_dir, kernel_id: str) -> CellTimer:
    """Hook the shell once (again on the same shell returns the same timer)."""
    timer = getattr(shell, "_vigilo_cell_timer", None)
    if isinstance(timer, CellTimer):
        return timer
    timer = CellTimer(data_dir, kernel_id)
    shell.events.register("pre_run_cell", timer.pre)
    shell.events.register("post_run_cell", timer.post)
    shell._vigilo_cell_timer = timer
    return timer
