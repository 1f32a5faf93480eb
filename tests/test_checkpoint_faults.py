"""Each fault leaves the previous checkpoint intact, raises an alert that says
why and what to do. Real faults: a kernel process killed with SIGKILL mid-save,
a real tmpfs that is too small, a tmpfs remounted read-only (root ignores
permission bits, so chmod would prove nothing), Drive unmounted during a save,
an object pickle refuses.

The tmpfs tests mount filesystems: they need root (or CAP_SYS_ADMIN), as the
CI container has."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import vigilo.checkpoint as ckpt

from checkpoint_fixtures import ROOT, Model, colab, manifest, save_now, sha, until  # noqa: F401  (fixture)


def alerts(sc, rule="checkpoint.failed"):
    return sc.call("GET", f"/alerts?ruleId={rule}")["alerts"]


def assert_intact(sc, record):
    """The previous checkpoint is still the latest verified one, byte for byte, and no partial is visible."""
    status = sc.status()["status"]
    assert status["lastVerified"]["id"] == record["id"]
    assert sha(record["path"]) == record["sha256"]
    folder = Path(record["path"]).parent
    assert manifest(folder)["checkpoints"][0]["sha256"] == record["sha256"]
    assert not [p for p in folder.iterdir() if "vigilo-partial" in p.name]
    assert ckpt.latest() == record["path"]


@pytest.fixture
def tmpfs():
    """mount(8) a small tmpfs; unmounted afterwards."""
    mounted = []

    def mount(path: Path, size_mib: int) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, f"these tests mount a tmpfs and need root: {done.stderr}"
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


def writer(size_mib: int):
    """A save=fn writing `size_mib` MiB of data that changes with each call."""

    def save(path):
        with open(path, "wb") as fh:
            fh.write(os.urandom(1 << 20) * size_mib)

    return save


def test_a_destination_too_small_refuses_the_copy_and_keeps_the_previous(colab, tmpfs):
    tmpfs(colab.root / "content" / "drive" / "MyDrive", 48)
    sizes = iter([8, 30])
    ckpt.watch(save=lambda p: writer(next(sizes))(p), step=lambda: 1, run="full")
    first = save_now(colab)
    assert first["verified"]
    # 8 MiB would still fit (estimated from the last size), 30 MiB does not: refused at the copy.
    second = save_now(colab)
    assert not second["verified"]
    assert "not enough room" in second["error"] and "needs 30.0 MiB" in second["error"]
    assert_intact(colab, first)
    alert = alerts(colab)[0]
    assert alert["severity"] == "critical"
    assert "Free space there" in alert["message"] and "is intact" in alert["message"]
    # The staged file on local disk is cleaned up too.
    assert list((colab.data_dir / "checkpoint-staging").iterdir()) == []


def test_free_space_is_checked_before_the_kernel_is_asked_to_save(colab, tmpfs):
    tmpfs(colab.root / "content" / "drive" / "MyDrive", 48)
    calls = {"n": 0}

    def save(path):
        calls["n"] += 1
        with open(path, "wb") as fh:
            fh.write(b"s" * (20 << 20))

    ckpt.watch(save=save, step=lambda: 5, run="estimate")
    first = save_now(colab)
    assert first["verified"]
    # ~28 MiB left < the last size (20 MiB) + 16 MiB reserve: refused without making the kernel save.
    until(lambda: (colab.status()["status"]["destination"]["freeBytes"] or 1 << 40) < 30 << 20, "the free space re-read")
    answer = ckpt.now()
    assert not answer["accepted"] and "not enough room" in answer["message"]
    assert calls["n"] == 1
    assert_intact(colab, first)
    assert "the last checkpoint was 20.0 MiB" in alerts(colab)[0]["message"]


def test_a_read_only_destination_fails_clearly_and_keeps_the_previous(colab, tmpfs):
    drive = tmpfs(colab.root / "content" / "drive" / "MyDrive", 32)
    ckpt.watch(save=writer(1), step=lambda: 2, run="ro")
    first = save_now(colab)
    assert first["verified"]
    subprocess.run(["mount", "-o", "remount,ro", str(drive)], check=True)
    second = save_now(colab)
    assert not second["verified"]
    assert "read-only" in second["error"]
    assert_intact(colab, first)
    assert "remount Drive" in alerts(colab)[0]["message"]


def test_drive_unmounted_during_the_save_is_never_recreated_on_the_ephemeral_disk(colab):
    drive = colab.root / "content" / "drive" / "MyDrive"
    mounts = colab.root / "proc" / "self" / "mounts"
    calls = {"n": 0}

    def save(path):
        calls["n"] += 1
        Path(path).write_bytes(b"state %d" % calls["n"])
        if calls["n"] == 2:
            # Drive goes away while the kernel saves: the folder vanishes and the mount line with it.
            drive.rename(drive.with_name("MyDrive.unmounted"))
            mounts.write_text(mounts.read_text().replace("drive /content/drive fuse.drive rw,nosuid,nodev,relatime 0 0\n", ""))

    ckpt.watch(save=save, step=lambda: 3, run="unmount")
    first = save_now(colab)
    assert first["verified"]
    second = save_now(colab)
    assert not second["verified"]
    assert "Drive" in second["error"] or "destination" in second["error"]
    assert not drive.exists(), "an unmounted Drive folder must not be recreated on the runtime disk"
    # Drive comes back: the previous checkpoint is there, intact.
    drive.with_name("MyDrive.unmounted").rename(drive)
    assert sha(first["path"]) == first["sha256"]
    assert "Mount Google Drive again" in alerts(colab)[0]["message"] or "drive.mount" in alerts(colab)[0]["message"]


def test_an_unpicklable_object_fails_with_what_to_do_and_keeps_the_previous(colab):
    model = Model(1)
    ckpt.watch(model=model, step=lambda: 10, run="pickle")
    first = save_now(colab)
    assert first["verified"]
    ckpt.watch(model=model, step=lambda: 11, run="pickle", lock=threading.Lock())
    second = save_now(colab)
    assert not second["verified"]
    assert "pickle" in second["error"]
    assert_intact(colab, first)
    message = alerts(colab)[0]["message"]
    assert "cannot be pickled" in message and "save=fn(path)" in message


KERNEL = textwrap.dedent(
    """
    import sys, time, pathlib
    sys.path.insert(0, {root!r})
    import vigilo.checkpoint as ckpt
    control, marker = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    n = 0
    def save(path):
        with open(path, "wb") as fh:
            fh.write(b"A" * 1_000_000)
            if control.read_text() == "slow":
                fh.flush()
                marker.write_text("mid-save")
                time.sleep(600)
    ckpt.watch(save=save, step=lambda: n, run="killed")
    while True:
        n += 1
        ckpt.step()
        time.sleep(0.01)
    """
)


def test_a_kernel_killed_mid_save_leaves_the_previous_checkpoint(colab, tmp_path):
    script = tmp_path / "kernel.py"
    script.write_text(KERNEL.format(root=str(ROOT)))
    control, marker = tmp_path / "control", tmp_path / "marker"
    control.write_text("fast")
    kernel = subprocess.Popen([sys.executable, str(script), str(control), str(marker)], env=dict(os.environ))
    try:
        until(lambda: colab.status()["status"]["watching"], "the kernel to watch")
        first_id = colab.call("POST", "/checkpoints", {})["id"]
        first = until(lambda: next((c for c in colab.status()["checkpoints"] if c["id"] == first_id and colab.status()["status"]["saving"] is None), None), "the first checkpoint")
        assert first["verified"]
        control.write_text("slow")
        second_id = colab.call("POST", "/checkpoints", {})["id"]
        until(marker.exists, "the kernel to be mid-save")
        os.kill(kernel.pid, signal.SIGKILL)
        kernel.wait(timeout=10)
        failed = until(lambda: next((c for c in colab.status()["checkpoints"] if c["id"] == second_id), None), "the sidecar to notice the dead kernel")
        assert not failed["verified"]
        assert "kernel" in failed["error"]
        status = colab.status()["status"]
        assert status["saving"] is None and status["lastVerified"]["id"] == first_id
        assert sha(first["path"]) == first["sha256"]
        assert "is intact" in alerts(colab)[0]["message"]
        # The half-written staging file is removed.
        until(lambda: list((colab.data_dir / "checkpoint-staging").iterdir()) == [], "staging cleaned")
    finally:
        if kernel.poll() is None:
            kernel.kill()
            kernel.wait(timeout=10)


def test_the_session_end_trigger_saves_before_the_runtime_lifetime_runs_out(tmp_path, sidecar_built, monkeypatch):
    from checkpoint_fixtures import Sidecar, fake_colab

    root = tmp_path / "root"
    # Colab's 12 h lifetime with 200 s left: under 3 × 60 s (first-save estimate) + 120 s.
    env = fake_colab(root, runtime_age_s=12 * 3600 - 200)
    monkeypatch.setenv("VIGILO_DATA_DIR", str(tmp_path / "data"))
    sc = Sidecar(tmp_path / "data", env, root).start()
    try:
        ckpt.watch(model=Model(9), step=lambda: 900, run="ending")
        record = until(lambda: next((c for c in sc.status()["checkpoints"] if c["verified"]), None), "the session-end checkpoint", step=ckpt.step)
        assert record["trigger"] == "session-end" and record["step"] == 900
        # Latched: no second session-end save while the condition holds.
        assert len(sc.status()["checkpoints"]) == 1
    finally:
        ckpt.unwatch()
        sc.stop()


def test_the_disk_trigger_saves_when_the_runtime_disk_fills(tmp_path, sidecar_built, monkeypatch, tmpfs):
    from checkpoint_fixtures import Sidecar, fake_colab

    root = tmp_path / "root"
    env = fake_colab(root)
    content = tmpfs(root / "content", 16)
    tmpfs(content / "drive" / "MyDrive", 64)
    (content / "filler.bin").write_bytes(b"\0" * (15 << 20))  # /content at ~94 % (threshold 90 %)
    monkeypatch.setenv("VIGILO_DATA_DIR", str(tmp_path / "data"))
    sc = Sidecar(tmp_path / "data", env, root).start()
    try:
        ckpt.watch(model=Model(4), step=lambda: 40, run="disk")
        record = until(lambda: next((c for c in sc.status()["checkpoints"] if c["verified"]), None), "the disk checkpoint", step=ckpt.step)
        assert record["trigger"] == "disk"
        assert record["path"].startswith(str(content / "drive" / "MyDrive"))
    finally:
        ckpt.unwatch()
        sc.stop()


def test_the_idle_cutoff_trigger_saves_before_an_idle_runtime_is_cut(colab):
    # A 4 min idle cut-off (profile override): under the 5 min lead at once.
    colab.call("POST", "/profile", {"overrides": {"idleCutoff": "4m"}})
    until(lambda: ((colab.call("GET", "/metrics").get("idle") or {}).get("remainingS") or 1e9) < 300, "the idle countdown")
    ckpt.watch(model=Model(6), step=lambda: 60, run="idle")
    record = until(lambda: next((c for c in colab.status()["checkpoints"] if c["verified"]), None), "the idle checkpoint", step=ckpt.step)
    assert record["trigger"] == "idle-cutoff" and record["step"] == 60
