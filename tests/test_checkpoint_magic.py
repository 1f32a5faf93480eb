"""%vigilo checkpoint in a real in-process IPython shell, and the folder mirror,
against a real sidecar on a simulated Colab with Drive as a local folder."""
from __future__ import annotations

import threading
import time

import pytest
from IPython.core.error import UsageError

import vigilo.checkpoint as ckpt

from checkpoint_fixtures import colab, sha, until  # noqa: F401  (fixture)


@pytest.fixture
def loaded(ip, colab):
    ip.run_line_magic("load_ext", "vigilo")
    yield ip
    ip.run_line_magic("unload_ext", "vigilo")


def say(ip, line: str) -> str:
    return repr(ip.run_line_magic("vigilo", line))


def test_checkpoint_magics_and_a_save_while_no_cell_runs(loaded, colab):
    ip = loaded
    text = say(ip, "checkpoint")
    assert f"Checkpoints go to {colab.drive}/default" in text
    assert "Google Drive is mounted" in text and "No verified checkpoint yet" in text
    ip.run_cell(
        "import vigilo.checkpoint as ckpt\n"
        "class M:\n"
        "    def state_dict(self): return {'w': 42}\n"
        "ckpt.watch(model=M(), step=lambda: 42)\n"
    )
    assert "requested" in say(ip, "checkpoint now")
    # No cell runs and nobody calls step(): the kernel saves from the heartbeat thread.
    until(lambda: (colab.status()["status"]["lastVerified"] or {}).get("step") == 42, "a save while idle")
    text = say(ip, "checkpoint status")
    assert "Last verified checkpoint: step 42" in text
    assert "Next automatic checkpoint in" in text
    assert "every 45 min" in say(ip, "checkpoint every 45")
    assert colab.call("GET", "/checkpoints/settings")["intervalMin"] == 45
    assert "Automatic checkpoints are off" in say(ip, "checkpoint auto off")
    assert colab.call("GET", "/checkpoints/settings")["auto"] is False
    with pytest.raises(UsageError, match="usage"):
        say(ip, "checkpoint sometimes")


def test_mirror_copies_only_complete_files(loaded, colab, tmp_path):
    out = tmp_path / "outputs"
    (out / "checkpoint-100").mkdir(parents=True)
    (out / "checkpoint-100" / "model.bin").write_bytes(b"complete" * 1000)
    growing = out / "checkpoint-200" / "model.bin"
    growing.parent.mkdir()
    growing.write_bytes(b"")
    stop = threading.Event()

    def trainer_writes():
        # Appends for ~3 s: never still for the mirror's 2 s stability window.
        for _ in range(30):
            if stop.is_set():
                return
            with open(growing, "ab") as fh:
                fh.write(b"x" * 65536)
            time.sleep(0.1)

    writer = threading.Thread(target=trainer_writes)
    writer.start()
    try:
        text = say(loaded, f"checkpoint mirror {out}")
        assert f"Mirroring {out}" in text
        mirrored = colab.drive / "default" / "mirror"
        until(lambda: (mirrored / "checkpoint-100" / "model.bin").exists(), "the complete file mirrored")
        assert writer.is_alive(), "the test needs the file still growing here"
        assert not (mirrored / "checkpoint-200" / "model.bin").exists()
        writer.join()
        final = mirrored / "checkpoint-200" / "model.bin"
        until(lambda: final.exists() and sha(final) == sha(growing), "the finished file mirrored", timeout=20)
        assert growing.stat().st_size == 30 * 65536
        want = {str(mirrored / "checkpoint-100" / "model.bin"), str(final)}
        # The record follows the rename by a moment.
        records = until(lambda: [c for c in colab.status()["checkpoints"] if c["kind"] == "mirror" and c["path"] == str(final)] and [c for c in colab.status()["checkpoints"] if c["kind"] == "mirror"], "the mirror records")
        assert {c["path"] for c in records} == want
        assert all(c["verified"] for c in records)
    finally:
        stop.set()
        writer.join()
        ckpt.mirror(str(out), enabled=False)


def test_a_cell_that_watches_and_keeps_training_is_only_saved_at_its_step(loaded, colab):
    ip = loaded
    result = ip.run_cell(
        "import time, vigilo.checkpoint as ckpt\n"
        "from vigilo.checkpoint import _core\n"
        "class M:\n"
        "    def state_dict(self): return {'w': 7}\n"
        "ckpt.watch(model=M(), step=lambda: 7)\n"
        "ckpt.now()\n"
        "deadline = time.monotonic() + 15\n"
        "while not _core._due and time.monotonic() < deadline:\n"
        "    time.sleep(0.02)\n"
        "time.sleep(0.5)  # the training loop is busy: the heartbeat thread must not save behind its back\n"
        "saved_while_running = _core._active.last_result\n"
        "ckpt.step()\n"
    )
    assert result.success, result.error_in_exec
    assert ip.user_ns["saved_while_running"] is None
    until(lambda: (colab.status()["status"]["lastVerified"] or {}).get("step") == 7, "the save at step()")
