"""The kernel's half of the auto-checkpoint engine.

The sidecar decides when (src/core/checkpointPolicy.ts) and says so in the
heartbeat answer (``{"checkpoint": {"id", "trigger"}}``). The kernel saves at
a safe point: the next ``step()`` of the training loop, or at once when no
cell is running. It writes a complete staging file on local disk and hands it
to the sidecar, which copies it to the durable destination, verifies it
(size + sha256 read back) and renames it atomically.

``step()`` when nothing is due is one global read: no I/O, no clock.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from .. import _sidecar
from .._kernel import Heartbeat
from .._paths import data_dir as default_data_dir

MANIFEST_FILE = "vigilo-checkpoints.json"
STAGING_DIR = "checkpoint-staging"

#: Set by the heartbeat thread when a checkpoint is due; read by step().
_due = False
_active: "Optional[Checkpointer]" = None


class CheckpointError(RuntimeError):
    """No sidecar, no checkpoint, or a checkpoint that does not verify."""


def _has_state(obj: Any) -> bool:
    return callable(getattr(obj, "state_dict", None))


def _discovery(data_dir) -> dict:
    found = _sidecar.read_discovery(data_dir)
    if not found:
        raise CheckpointError("No Vigilo sidecar is running: run %vigilo (or vigilo.checkpoint.watch(), which starts it) first.")
    return found


def _call(data_dir, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
    status, answer = _sidecar.request(_discovery(data_dir), method, path, body, timeout=timeout)
    if status >= 400:
        raise CheckpointError(f"sidecar answered HTTP {status}: {_sidecar.error_message(answer)}")
    return answer


def _shared_heartbeat():
    """The %vigilo magic's heartbeat when it runs (one channel per kernel)."""
    hb = Heartbeat.current
    return hb if hb is not None and hb.running else None


class Checkpointer:
    """What one kernel watches and how it saves. Use the module functions."""

    def __init__(self, data_dir=None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.objects: Dict[str, Any] = {}
        self.step_fn: Optional[Callable[[], Any]] = None
        self.save_fn: Optional[Callable[[str], Any]] = None
        self.load_fn: Optional[Callable[[str], Any]] = None
        self.run: Optional[str] = None
        self.heartbeat = None
        self._own_heartbeat = False
        self._order: Optional[dict] = None
        self._handled: "set[str]" = set()
        self._lock = threading.Lock()
        self._executing = False
        self._shell = None
        self.last_result: Optional[dict] = None

    # -- wiring -------------------------------------------------------------
    def attach(self) -> None:
        _sidecar.ensure_running(self.data_dir)
        hb = _shared_heartbeat()
        if hb is None:
            hb = Heartbeat(self.data_dir)
            self._own_heartbeat = True
        self.heartbeat = hb
        if self.on_answer not in hb.answer_listeners:
            hb.answer_listeners.append(self.on_answer)
        try:
            from IPython import get_ipython  # type: ignore

            shell = get_ipython()
        except Exception:
            shell = None
        if shell is not None and self._shell is None:
            self._shell = shell
            shell.events.register("pre_run_cell", self._pre_cell)
            shell.events.register("post_run_cell", self._post_cell)
            # User code calls watch() from a cell, which may go on training: running until its post_run_cell.
            self._executing = True
        _call(self.data_dir, "POST", "/checkpoints/watch", self._watch_body(True))
        hb.start()

    def detach(self) -> None:
        global _due
        _due = False
        if self.heartbeat is not None:
            # Stop listening first: an answer saying "not watched" must not re-register us.
            if self.on_answer in self.heartbeat.answer_listeners:
                self.heartbeat.answer_listeners.remove(self.on_answer)
            if self._own_heartbeat:
                self.heartbeat.stop()
        try:
            _call(self.data_dir, "POST", "/checkpoints/watch", self._watch_body(False))
        except (CheckpointError, OSError):
            pass
        if self._shell is not None:
            for name, fn in (("pre_run_cell", self._pre_cell), ("post_run_cell", self._post_cell)):
                try:
                    self._shell.events.unregister(name, fn)
                except ValueError:
                    pass
            self._shell = None

    def _watch_body(self, watching: bool) -> dict:
        body: Dict[str, Any] = {"kernelId": self.kernel_id, "watching": watching}
        if self.run:
            body["run"] = self.run
        return body

    @property
    def kernel_id(self) -> str:
        if self.heartbeat is not None:
            return self.heartbeat.kernel_id
        from .._kernel import kernel_id

        return kernel_id()

    def _pre_cell(self, *_args) -> None:
        self._executing = True

    def _post_cell(self, *_args) -> None:
        self._executing = False

    def on_answer(self, body: dict) -> None:
        """Heartbeat thread: a checkpoint is due when the answer carries an order we have not served."""
        global _due
        if body.get("checkpointWatched") is False and self.heartbeat is not None:
            # A restarted sidecar does not know we watch: register again (from the heartbeat thread).
            try:
                _call(self.data_dir, "POST", "/checkpoints/watch", self._watch_body(True), timeout=3.0)
            except (CheckpointError, OSError):
                pass
        order = body.get("checkpoint")
        if not isinstance(order, dict) or order.get("id") in self._handled:
            return
        self._order = order
        _due = True
        if self._shell is not None and not self._executing and (self.objects or self.save_fn is not None):
            # No cell runs: the watched state is at rest, save now instead of waiting for a step().
            # (Framework callbacks have no state to save outside their loop: they wait for it.)
            threading.Thread(target=self.serve, name="vigilo-checkpoint", daemon=True).start()

    # -- saving -------------------------------------------------------------
    def current_step(self) -> Optional[int]:
        if self.step_fn is None:
            return None
        try:
            value = self.step_fn() if callable(self.step_fn) else self.step_fn
            return int(value) if value is not None else None
        except Exception:
            return None

    def _write(self, path_base: Path, step: Optional[int]) -> Path:
        if self.save_fn is not None:
            path = path_base.with_suffix(".ckpt")
            self.save_fn(str(path))
            if not path.exists():
                raise CheckpointError(f"save={getattr(self.save_fn, '__name__', 'fn')} did not write {path}")
            return path
        torch = sys.modules.get("torch")
        stateful = {name: obj for name, obj in self.objects.items()}
        if torch is not None and stateful and all(_has_state(obj) for obj in stateful.values()):
            path = path_base.with_suffix(".pt")
            state = {name: obj.state_dict() for name, obj in stateful.items()}
            state["step"] = step
            torch.save(state, str(path))
            return path
        path = path_base.with_suffix(".pkl")
        state = {name: (obj.state_dict() if _has_state(obj) else obj) for name, obj in stateful.items()}
        state["step"] = step
        with open(path, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    def pending(self) -> Optional[dict]:
        """The order the sidecar sent that is not served yet, else None."""
        order = self._order
        return order if order is not None and order.get("id") not in self._handled else None

    def serve(self, writer: Optional[Callable[[Path], Path]] = None, step: Optional[int] = None, own: bool = False, keep_source: bool = False) -> Optional[dict]:
        """Save for the pending order and hand the file to the sidecar.

        `writer(path_base) -> path` replaces the built-in save (framework callbacks);
        `own=True` saves without an order (a framework saved on its own schedule).
        """
        global _due
        if not self._lock.acquire(blocking=False):
            return None  # the other thread is saving this very order
        try:
            order = None if own else self.pending()
            _due = False
            if order is None and not own:
                return None
            order_id = order["id"] if order else None
            if order_id:
                self._handled.add(order_id)
            if step is None:
                step = self.current_step()
            stage = self.data_dir / STAGING_DIR / (order_id or f"own-{os.getpid()}-{time.time_ns()}")
            stage.mkdir(parents=True, exist_ok=True)
            name = f"step-{step}" if step is not None else time.strftime("ckpt-%Y%m%d-%H%M%S")
            started = time.monotonic()
            body: Dict[str, Any] = {
                "kernelId": self.kernel_id,
                "orderId": order_id,
                "trigger": order.get("trigger", "manual") if order else "callback",
                "kind": "callback" if writer is not None else "objects",
                "step": step,
            }
            try:
                path = writer(stage / name) if writer is not None else self._write(stage / name, step)
            except Exception as err:  # unpicklable object, user save failed, disk full...
                shutil.rmtree(stage, ignore_errors=True)
                body.update(name=name, saveS=time.monotonic() - started, error=f"{type(err).__name__}: {err}"[:2000])
                self.last_result = _call(self.data_dir, "POST", "/checkpoints/staged", body)
                return self.last_result
            body.update(name=Path(path).name, saveS=time.monotonic() - started, stagingPath=str(path))
            if keep_source:
                body["keepSource"] = True
            self.last_result = _call(self.data_dir, "POST", "/checkpoints/staged", body)
            if not Path(path).is_relative_to(stage) or not self.last_result.get("accepted"):
                shutil.rmtree(stage, ignore_errors=True)
            return self.last_result
        finally:
            self._lock.release()


def _checkpointer(data_dir=None) -> Checkpointer:
    global _active
    if _active is None:
        _active = Checkpointer(data_dir)
    return _active


# -- public API -----------------------------------------------------------------
def watch(model=None, optimizer=None, step=None, save=None, load=None, run: Optional[str] = None, data_dir=None, **objects) -> Checkpointer:
    """Watch objects for automatic checkpoints; then call ``vigilo.checkpoint.step()`` in the loop.

    ``step`` is a callable returning the current step (``lambda: step``).
    Objects with ``state_dict()`` are saved with torch when torch is already
    imported, else everything is pickled; or pass ``save=fn(path)`` and
    ``load=fn(path)``. ``run`` names the folder under the destination.
    """
    global _active
    if _active is not None and data_dir is not None and Path(data_dir) != _active.data_dir:
        _active.detach()
        _active = None
    cp = _checkpointer(data_dir)
    named = dict(objects)
    if model is not None:
        named["model"] = model
    if optimizer is not None:
        named["optimizer"] = optimizer
    if not named and save is None:
        raise ValueError("vigilo.checkpoint.watch needs objects to save (model=..., optimizer=...) or save=fn(path)")
    cp.objects, cp.step_fn, cp.save_fn, cp.load_fn, cp.run = named, step, save, load, run
    cp.attach()
    return cp


def unwatch() -> None:
    """Stop automatic checkpoints for this kernel."""
    global _active
    if _active is not None:
        _active.detach()
        _active = None


def step() -> None:
    """Call once per training step: saves when the sidecar said a checkpoint is due, else returns at once."""
    if _due and _active is not None:
        _active.serve()


def _dir(data_dir):
    """The data dir asked for, else the watching checkpointer's, else the default."""
    return data_dir if data_dir is not None else (_active.data_dir if _active else None)


def now(data_dir=None) -> dict:
    """Request a checkpoint now (the panel button's request: POST /checkpoints with {})."""
    return _call(_dir(data_dir), "POST", "/checkpoints", {})


def status(data_dir=None) -> dict:
    """The sidecar's checkpoint status and history (GET /checkpoints)."""
    return _call(_dir(data_dir), "GET", "/checkpoints")


def mirror(folder: str, enabled: bool = True, data_dir=None) -> dict:
    """Mirror a folder's complete files to the destination (the sidecar copies; nothing runs here)."""
    return _call(_dir(data_dir), "POST", "/checkpoints/mirror", {"source": os.path.abspath(folder), "enabled": enabled})


def _destination(dest=None, data_dir=None) -> Path:
    if dest is not None:
        return Path(dest)
    where = status(data_dir)["status"]["destination"]
    if not where.get("path"):
        raise CheckpointError(f"No checkpoint destination: {where.get('reason')}. {where.get('fix') or ''}".strip())
    return Path(where["path"])


def _manifest_entries(folder: Path) -> list:
    """The checkpoints the folder's manifest lists, newest first; none when it is missing or unreadable."""
    try:
        with open(folder / MANIFEST_FILE, encoding="utf-8") as fh:
            return json.load(fh).get("checkpoints", [])
    except (OSError, ValueError):
        return []


def latest(dest=None, data_dir=None) -> Optional[str]:
    """Path of the newest verified checkpoint in the destination (from its manifest), or None.

    Works after a runtime restart: the manifest lives next to the checkpoints.
    """
    folder = _destination(dest, data_dir)
    for entry in _manifest_entries(folder):
        path = folder / entry["name"]
        if path.exists():
            return str(path)
    return None


def _manifest_entry(path: Path) -> Optional[dict]:
    return next((e for e in _manifest_entries(path.parent) if e.get("name") == path.name), None)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def restore(path=None, dest=None, data_dir=None, verify: bool = True) -> Any:
    """Load the newest verified checkpoint into the watched objects; returns the saved state
    (a dict with ``step`` for the built-in formats, or what ``load=fn`` returned).

    ``verify`` checks the file's sha256 against the manifest before loading.
    """
    target = Path(path) if path is not None else None
    if target is None:
        found = latest(dest, data_dir)
        if found is None:
            raise CheckpointError("No verified checkpoint in the destination yet.")
        target = Path(found)
    entry = _manifest_entry(target)
    if verify and entry and target.is_file() and _sha256(target) != entry.get("sha256"):
        raise CheckpointError(f"{target} does not match the sha256 recorded when it was verified: it changed or is damaged.")
    cp = _active
    if cp is not None and cp.load_fn is not None:
        return cp.load_fn(str(target))
    if target.suffix == ".pt":
        import torch  # type: ignore  # only when the checkpoint was written by torch

        state = torch.load(str(target), map_location="cpu", weights_only=False)
    elif target.suffix == ".pkl":
        with open(target, "rb") as fh:
            state = pickle.load(fh)
    else:
        raise CheckpointError(f"{target.name} was written by a custom save function: pass load=fn(path) to watch() to restore it.")
    if cp is not None:
        for name, obj in cp.objects.items():
            if name in state and callable(getattr(obj, "load_state_dict", None)):
                obj.load_state_dict(state[name])
    return state


COMMAND_HELP = "usage: %vigilo checkpoint [status | now | mirror DIR | dest PATH|none | auto on|off | every MIN | keep K]"


def command(args, data_dir=None) -> str:
    """``%vigilo checkpoint ...``: send the request, return the text the sidecar rendered."""
    args = list(args)
    verb = args.pop(0) if args else "status"
    if verb == "status" and not args:
        return status(data_dir)["status"]["summary"]
    if verb == "now" and not args:
        answer = now(data_dir)
        return answer["message"] if answer.get("accepted") else f"Not started: {answer['message']}"
    if verb == "mirror" and len(args) == 1:
        mirror(args[0], data_dir=data_dir)
        return status(data_dir)["status"]["summary"]
    settings = {
        ("dest", 1): lambda v: {"destination": None if v == "none" else os.path.abspath(v)},
        ("auto", 1): lambda v: {"auto": {"on": True, "off": False}[v]},
        ("every", 1): lambda v: {"intervalMin": float(v)},
        ("keep", 1): lambda v: {"keep": int(v)},
    }.get((verb, len(args)))
    if settings is None:
        raise ValueError(COMMAND_HELP)
    try:
        body = settings(args[0])
    except (KeyError, ValueError) as err:
        raise ValueError(f"{COMMAND_HELP} ({err})") from err
    _call(data_dir, "PUT", "/checkpoints/settings", body)
    return status(data_dir)["status"]["summary"]
