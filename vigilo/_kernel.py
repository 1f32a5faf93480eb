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

from . import _progress, _restarts, _sidecar, _torch
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
    """The Jupyter kernel id from the connection file, else one derived from the pid. A kernel has
    ipykernel loaded already; plain IPython does not, and importing it there costs ~120 ms for nothing."""
    if "ipykernel" not in sys.modules:
        return f"ipython-{os.getpid()}"
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


def heartbeat_interval(env=None) -> float:
    """The kernel's heartbeat period in seconds: $VIGILO_HEARTBEAT_S (tests), else 10 s;
    the sidecar's answer then sets it (the launcher starts it with the same period)."""
    env = os.environ if env is None else env
    try:
        return max(0.2, float(env.get("VIGILO_HEARTBEAT_S") or 10.0))
    except ValueError:
        return 10.0


def tpu_facts() -> "Optional[dict]":
    """TPU devices as the kernel's own jax sees them, or None.

    Read only when the user's code already imported jax *and* initialised its
    TPU backend: nothing is imported or initialised from here (that would
    claim the TPU). torch_xla is not read: asking it initialises PJRT.
    """
    bridge = sys.modules.get("jax._src.xla_bridge")
    backends = getattr(bridge, "_backends", None) if bridge is not None else None
    client = backends.get("tpu") if isinstance(backends, dict) else None
    if client is None:
        return None
    devices = list(client.local_devices())
    kind = getattr(devices[0], "device_kind", None) if devices else None
    return {"source": "jax", "deviceKind": str(kind)[:80] if kind else None, "count": len(devices)}


class Heartbeat:
    """Registers the kernel and keeps it alive from a daemon thread.

    Each beat re-reads the discovery file, so a restarted sidecar is found
    again without user action. A beat that finds the sidecar dead (its pid
    exited or was reused; a graceful stop removes sidecar.json and is left
    alone) restarts it through the data dir's start lock, so the kernels of a
    data dir restart it once between them; failed starts back off and stop
    after a few (vigilo/_restarts.py). What happened is kept in ``notice``,
    which ``%vigilo`` shows once in its live output.
    """

    #: The heartbeat running in this process (%vigilo's, one channel per kernel), for vigilo.checkpoint.
    current: "Optional[Heartbeat]" = None

    def __init__(
        self,
        data_dir=None,
        execution_count: Callable[[], int] = lambda: 0,
        interval: Optional[float] = None,
        clock: Callable[[], float] = time.time,
        restart_timeout: float = 20.0,
    ) -> None:
        self.data_dir = data_dir
        self.execution_count = execution_count
        self.interval = heartbeat_interval() if interval is None else interval
        #: Wall clock (epoch s) for the restart record and its backoff; tests inject their own.
        self.clock = clock
        self.restart_timeout = restart_timeout
        #: The latest lifecycle message (a restart, or restarts given up), for the %vigilo report.
        self.notice: Optional[str] = None
        #: Called (on the heartbeat thread) when ``notice`` changes.
        self.on_notice: Optional[Callable[[str], None]] = None
        #: Restarts this kernel's heartbeat made or found (another kernel may have made it).
        self.restarts = 0
        self._failed_starts = 0
        self._next_try_s = 0.0
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
            tpu = tpu_facts()
            if tpu is not None:
                body["tpu"] = tpu
        except Exception as err:  # extra facts never stop the heartbeat itself
            self.last_error = f"progress/torch facts failed: {err}"
        # LLM SDKs loaded, calls tracked and calls that passed untracked (vigilo.llm is imported only
        # once an LLM SDK is; importing it instruments the loaded SDKs so untracked calls are counted).
        try:
            if "vigilo.llm" in sys.modules or any(m in sys.modules for m in SDK_MODULES.values()):
                from .llm import _registry

                llm = _registry.heartbeat_facts()
                if llm is not None:
                    body["llm"] = llm
        except Exception as err:
            self.last_error = f"LLM facts failed: {err}"
        return body

    def beat(self) -> bool:
        discovery = _sidecar.read_discovery(self.data_dir)
        if not discovery:
            self.last_error = "no sidecar running"
            return self._recover(None) and self._send(_sidecar.read_discovery(self.data_dir))
        try:
            return self._send(discovery, raise_unreachable=True)
        except OSError as err:
            self.last_error = str(err)
            return self._recover(discovery) and self._send(_sidecar.read_discovery(self.data_dir))

    def started(self) -> None:
        """A sidecar was started by hand (``%vigilo``): earlier notices were said, failed starts are forgiven."""
        self.notice = None
        self._failed_starts, self._next_try_s = 0, 0.0

    def _say(self, message: str) -> None:
        if message == self.notice:
            return
        self.notice = message
        if self.on_notice is not None:
            try:
                self.on_notice(message)
            except Exception as err:  # a display refresh must never stop the heartbeat
                self.last_error = f"notice display failed: {err}"

    def _recover(self, discovery: Optional[dict]) -> bool:
        """Start a sidecar in place of a dead one; True once one answers. Leaves alone a
        sidecar whose process lives (slow or busy: a second one must never start), one
        stopped on purpose (no sidecar.json), and a data dir whose restarts gave up."""
        directory = _sidecar._dir(self.data_dir)
        record = _restarts.read(directory)
        if discovery is None:
            if not record["failedStarts"]:
                return False  # stopped on purpose, or never started: not the heartbeat's to start
            why = "the previous restart failed"
        else:
            why = _sidecar.stale_reason(discovery, directory)
            if why is None:
                return False
        # This kernel's own count too: where restarts.json cannot be written (a read-only data dir) it still backs off and stops.
        record["failedStarts"] = max(record["failedStarts"], self._failed_starts)
        stop_message = _restarts.gave_up(record)
        if stop_message:
            self._say(stop_message)
            return False
        if self.clock() < max(_restarts.next_try_s(record), self._next_try_s):
            return False  # backing off after a failed start (one schedule for every kernel)
        try:
            found = _sidecar.ensure_running(
                self.data_dir,
                timeout=self.restart_timeout,
                restart_reason=f"{why}; restarted by the heartbeat of kernel {self.kernel_id}",
                clock=self.clock,
            )
        except (_sidecar.SidecarStartError, _sidecar.NodeNotFoundError) as err:
            self.last_error = f"restart failed: {err}"
            self._failed_starts += 1
            self._next_try_s = self.clock() + _restarts.backoff_s(self._failed_starts)
            self._say(_restarts.gave_up(_restarts.read(directory)) or f"Vigilo's sidecar stopped ({why}) and could not be restarted yet: {str(err).splitlines()[0]}")
            return False
        self.restarts += 1
        self._failed_starts, self._next_try_s = 0, 0.0
        stamp = datetime.fromtimestamp(self.clock(), tz=timezone.utc).strftime("%H:%M:%S UTC")
        self._say(f"Vigilo's sidecar stopped ({why}) and was restarted at {stamp} (pid {found.get('pid')}); calls made meanwhile are delivered from the buffer.")
        return True

    def _send(self, discovery: Optional[dict], raise_unreachable: bool = False) -> bool:
        """POST this kernel's facts; False (with ``last_error``) when the sidecar refuses or is unreachable."""
        if not discovery:
            return False
        try:
            status, body = _sidecar.request(discovery, "POST", "/kernels/heartbeat", self.payload(), timeout=3.0)
        except OSError as err:
            if raise_unreachable:
                raise
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
        Heartbeat.current = self

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
        if Heartbeat.current is self:
            Heartbeat.current = None
        # Leave tqdm as it was; the next beat hooks it again if the heartbeat restarts.
        if _progress._board is not None:
            _progress._board.unhook_tqdm()

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())
