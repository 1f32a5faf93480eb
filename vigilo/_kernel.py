"""What the kernel knows about itself, and the heartbeat that tells the sidecar.

Only raw facts leave here (pid, ids, times, which modules import); the
sidecar decides what they mean.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Optional

from . import _progress, _sidecar, _torch
from ._llm_sdks import SDK_MODULES

PLATFORM_MODULES = ("google.colab", "kaggle_secrets")


def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds and a "Z" (the sidecar's timestamp format)."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def process_start_time(pid: Optional[int] = None) -> float:
    """When this process started (epoch seconds), from /proc when there is one."""
    pid = os.getpid() if pid is None else pid
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/stat", encoding="ascii") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        return btime + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


def kernel_id() -> str:
    """The Jupyter kernel id from the connection file, else one derived from the pid."""
    try:
        from ipykernel import get_connection_file  # type: ignore

        name = os.path.basename(get_connection_file())
        if name.startswith("kernel-") and name.endswith(".json"):
            return name[len("kernel-") : -len(".json")]
    except Exception:  # not inside ipykernel (plain IPython, tests)
        pass
    return f"ipython-{os.getpid()}"


def importable(names=PLATFORM_MODULES) -> "dict[str, bool]":
    out = {}
    for name in names:
        try:
            out[name] = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            out[name] = False
    return out


class Heartbeat:
    """Registers the kernel and keeps it alive from a daemon thread.

    Each beat re-reads the discovery file, so a restarted sidecar is found
    again without user action.
    """

    def __init__(
        self,
        data_dir=None,
        execution_count: Callable[[], int] = lambda: 0,
        interval: float = 10.0,
    ) -> None:
        self.data_dir = data_dir
        self.execution_count = execution_count
        self.interval = interval
        self.kernel_id = kernel_id()
        self.pid = os.getpid()
        self.started_at = iso(process_start_time())
        self.last_activity: Optional[float] = None
        self.modules = importable()
        self.last_error: Optional[str] = None
        #: Called (on the heartbeat thread) after each beat the sidecar answered.
        self.after_beat: Optional[Callable[[], None]] = None
        #: Called (on the heartbeat thread) with each answer body, e.g. the checkpoint order.
        self.answer_listeners: "list[Callable[[dict], None]]" = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def payload(self) -> dict:
        body = {
            "kernelId": self.kernel_id,
            "pid": self.pid,
            "startedAt": self.started_at,
            "executionCount": int(self.execution_count() or 0),
            "modules": self.modules,
        }
        if self.last_activity is not None:
            body["lastActivity"] = iso(self.last_activity)
        # Progress bars and PyTorch memory: read only when the user already imported
        # tqdm / torch or called vigilo.progress (never imported from here).
        try:
            if _progress._board is not None or "tqdm.std" in sys.modules:
                bars = _progress.board().snapshot()
                if bars:
                    body["progress"] = bars
            torch = _torch.torch_facts()
            if torch is not None:
                body["torch"] = torch
        except Exception as err:  # extra facts never stop the heartbeat itself
            self.last_error = f"progress/torch facts failed: {err}"
        # LLM SDKs loaded, calls tracked and calls that passed untracked (vigilo.llm is imported only
        # once an LLM SDK is; importing it instruments the loaded SDKs so untracked calls are counted).
        try:
            if "vigilo.llm" in sys.modules or any(m in sys.modules for m in SDK_MODULES.values()):
                from .llm import _census

                llm = _census.facts()
                if llm is not None:
                    body["llm"] = llm
        except Exception as err:
            self.last_error = f"LLM facts failed: {err}"
        return body

    def beat(self) -> bool:
        discovery = _sidecar.read_discovery(self.data_dir)
        if not discovery:
            self.last_error = "no sidecar running"
            return False
        try:
            status, body = _sidecar.request(discovery, "POST", "/kernels/heartbeat", self.payload(), timeout=3.0)
        except OSError as err:
            self.last_error = str(err)
            return False
        if status == 200 and isinstance(body, dict):
            self.interval = float(body.get("heartbeatIntervalS", self.interval))
            self.last_error = None
            for listener in list(self.answer_listeners):
                try:
                    listener(body)
                except Exception as err:  # a listener must never stop the heartbeat
                    self.last_error = f"answer listener failed: {err}"
            return True
        self.last_error = f"HTTP {status}: {body}"
        return False

    def activity(self, *_args) -> None:
        """IPython pre_run_cell hook: remember the time; the next beat carries it."""
        self.last_activity = time.time()

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="vigilo-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.beat() and self.after_beat is not None:
                try:
                    self.after_beat()
                except Exception as err:  # a display refresh must never stop the heartbeat
                    self.last_error = f"refresh failed: {err}"
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._thread = None
        # Leave tqdm as it was; the next beat hooks it again if the heartbeat restarts.
        if _progress._board is not None:
            _progress._board.unhook_tqdm()

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())
