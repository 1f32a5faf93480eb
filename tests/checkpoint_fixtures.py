"""A simulated Colab for the checkpoint tests: a fake filesystem root
(VIGILO_FS_ROOT) whose mount table shows Google Drive mounted, with
/content/drive/MyDrive a plain local folder, and a real sidecar built from
this checkout running on it (heartbeat 1 s, policy tick 100 ms)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

import vigilo.checkpoint as ckpt

from vigilo import _sidecar

ROOT = Path(__file__).resolve().parent.parent


def until(check: Callable[[], Any], what: str, timeout: float = 15.0, step: Optional[Callable[[], None]] = None) -> Any:
    """Poll `check` (bounded), calling `step` between polls (the training loop's vigilo.checkpoint.step())."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if step is not None:
            step()
        time.sleep(0.02)


def fake_colab(root: Path, drive: bool = True, runtime_age_s: int = 3600) -> dict:
    """Write the files the platform detector and storage sampler read; return the env to run under."""
    now = int(time.time())
    boot = now - 86_400
    (root / "proc" / "1").mkdir(parents=True, exist_ok=True)
    (root / "proc" / "self").mkdir(parents=True, exist_ok=True)
    (root / "proc" / "stat").write_text(f"cpu  1 2 3 4\nbtime {boot}\nprocesses 42\n")
    ticks = (now - runtime_age_s - boot) * 100
    (root / "proc" / "1" / "stat").write_text(
        f"1 (docker-init) S 0 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 {ticks} 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
    )
    (root / "proc" / "uptime").write_text("86400.00 100.00\n")
    (root / "var" / "colab").mkdir(parents=True, exist_ok=True)
    (root / "var" / "colab" / "hostname").write_text("colab-vm\n")
    (root / "content" / "sample_data").mkdir(parents=True, exist_ok=True)
    mounts = "overlay / overlay rw,relatime 0 0\nproc /proc proc rw 0 0\n"
    if drive:
        (root / "content" / "drive" / "MyDrive").mkdir(parents=True, exist_ok=True)
        mounts += "drive /content/drive fuse.drive rw,nosuid,nodev,relatime 0 0\n"
    (root / "proc" / "self" / "mounts").write_text(mounts)
    return {"VIGILO_FS_ROOT": str(root), "COLAB_RELEASE_TAG": "release-colab_20260101-060000_RC00", "COLAB_GPU": ""}


def fake_kaggle(root: Path) -> dict:
    """A Kaggle notebook's filesystem: /kaggle/working (20 GB output limit) and the run-type variables."""
    env = fake_colab(root, drive=False)
    for name in ("COLAB_RELEASE_TAG", "COLAB_GPU"):
        env.pop(name)
    import shutil

    shutil.rmtree(root / "var" / "colab")
    shutil.rmtree(root / "content")
    (root / "kaggle" / "working").mkdir(parents=True)
    (root / "kaggle" / "input").mkdir(parents=True)
    env.update({"KAGGLE_KERNEL_RUN_TYPE": "Interactive", "KAGGLE_URL_BASE": "https://www.kaggle.com"})
    return env


class Sidecar:
    def __init__(self, data_dir: Path, env: dict, root: Path) -> None:
        self.data_dir = data_dir
        self.root = root
        self.env = env
        self.proc: Optional[subprocess.Popen] = None

    @property
    def drive(self) -> Path:
        return self.root / "content" / "drive" / "MyDrive" / "vigilo-checkpoints"

    def start(self) -> "Sidecar":
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = open(self.data_dir / "sidecar.log", "ab")
        self.proc = subprocess.Popen(
            ["node", str(ROOT / "bin" / "vigilo.js"), "serve", "--port", "0", "--json", "--data-dir", str(self.data_dir), "--heartbeat", "1", "--interval", "100"],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        until(lambda: _sidecar.probe(_sidecar.read_discovery(self.data_dir)), "the sidecar to answer", timeout=20)
        until(lambda: "storage" in self.call("GET", "/metrics"), "the first storage sample (is Drive mounted?)")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = _sidecar.request(_sidecar.read_discovery(self.data_dir), method, path, body)
        assert status < 400, (status, answer)
        return answer

    def status(self) -> dict:
        return self.call("GET", "/checkpoints")

    def log(self) -> str:
        return (self.data_dir / "sidecar.log").read_text(errors="replace")


def manifest(folder: Path) -> dict:
    return json.loads((folder / "vigilo-checkpoints.json").read_text())


@pytest.fixture
def colab(tmp_path, sidecar_built, monkeypatch):
    """A running sidecar on a simulated Colab with Drive mounted; the checkpoint module reset around each test."""
    from vigilo.checkpoint import _core

    root = tmp_path / "root"
    env = fake_colab(root)
    data = tmp_path / "data"
    monkeypatch.setenv("VIGILO_DATA_DIR", str(data))
    sc = Sidecar(data, env, root).start()
    yield sc
    _core.unwatch()
    sc.stop()


class Model:
    """Anything with state_dict()/load_state_dict() (torch is not imported: pickle is used)."""

    def __init__(self, w=0):
        self.w = w

    def state_dict(self):
        return {"w": self.w}

    def load_state_dict(self, state):
        self.w = state["w"]


def save_now(sc) -> dict:
    """Press "Checkpoint now", run the loop's step() until the sidecar is done; returns the record."""
    answer = ckpt.now()
    assert answer["accepted"], answer
    return until(lambda: finished(sc, answer["id"]), "a verified checkpoint", step=ckpt.step)


def finished(sc, id_: str):
    """The record of checkpoint `id_` once the sidecar is done with it (verified, rotated, or failed)."""
    body = sc.status()
    if body["status"]["saving"] is not None:
        return None
    return next((c for c in body["checkpoints"] if c["id"] == id_), None)


def progress_bar(sc, source: str):
    """The progress bar a framework callback (`source`: "keras", "hf-trainer", "lightning") reports in /metrics, or None."""
    bars = (sc.call("GET", "/metrics").get("progress") or {}).get("bars") or []
    return next((b for b in bars if b.get("source") == source), None)


@pytest.fixture
def own_progress_board(monkeypatch):
    """The test's bars on a board of their own: the kernel keeps closed bars for 10 min, and the next test must not read them."""
    from vigilo import _progress

    monkeypatch.setattr(_progress, "_board", None)


def sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()
