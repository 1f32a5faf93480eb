"""Checkpoints on a simulated Colab (Drive = a local folder), against a real sidecar."""
from __future__ import annotations

import pickle
import sys

import pytest

import vigilo.checkpoint as ckpt
from vigilo.checkpoint import _core

from checkpoint_fixtures import Model, colab, manifest, save_now, sha, until  # noqa: F401  (fixture)


def test_watch_and_step_save_verify_and_rotate_to_drive(colab):
    model = Model()
    i = 0
    ckpt.watch(model=model, optimizer={"lr": 0.1}, step=lambda: i, run="exp1")
    colab.call("PUT", "/checkpoints/settings", {"keep": 3})
    status = colab.status()["status"]
    assert status["destination"]["kind"] == "drive"
    assert status["destination"]["durable"] is True
    assert status["destination"]["path"] == str(colab.drive / "exp1")
    records = []
    for i in (100, 200, 300, 400):
        model.w = i
        records.append(save_now(colab))
    assert all(r["verified"] for r in records), records
    folder = colab.drive / "exp1"
    files = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    # Keep 3: step-100 deleted only after step-400 verified.
    assert files == ["step-200.pkl", "step-300.pkl", "step-400.pkl", "vigilo-checkpoints.json"]
    for r in records[1:]:
        assert sha(r["path"]) == r["sha256"]
        assert r["trigger"] == "manual" and r["kind"] == "objects"
    assert [e["step"] for e in manifest(folder)["checkpoints"]] == [400, 300, 200]
    with open(folder / "step-400.pkl", "rb") as fh:
        assert pickle.load(fh) == {"model": {"w": 400}, "optimizer": {"lr": 0.1}, "step": 400}
    latest = colab.status()["status"]["lastVerified"]
    assert latest["step"] == 400 and latest["path"] == str(folder / "step-400.pkl")
    # No staging file is left behind on local disk.
    assert list((colab.data_dir / "checkpoint-staging").iterdir()) == []


def test_step_is_a_no_op_until_a_checkpoint_is_due(colab):
    ckpt.watch(model=Model(), step=lambda: 1, run="noop")
    for _ in range(1000):
        ckpt.step()
    assert colab.status()["checkpoints"] == []
    assert _core._due is False


def test_the_interval_trigger_saves_without_anyone_asking(colab):
    colab.call("PUT", "/checkpoints/settings", {"intervalMin": 0.02})  # 1.2 s
    ckpt.watch(model=Model(7), step=lambda: 7, run="timed")
    record = until(lambda: next((c for c in colab.status()["checkpoints"] if c["verified"]), None), "an interval checkpoint", step=ckpt.step)
    assert record["trigger"] == "interval"
    assert record["step"] == 7


def test_without_drive_there_is_no_durable_destination_and_nothing_is_called_safe(tmp_path, sidecar_built, monkeypatch):
    from checkpoint_fixtures import Sidecar, fake_colab

    root = tmp_path / "root"
    env = fake_colab(root, drive=False)
    data = tmp_path / "data"
    monkeypatch.setenv("VIGILO_DATA_DIR", str(data))
    sc = Sidecar(data, env, root).start()
    try:
        ckpt.watch(model=Model(), step=lambda: 1)
        dest = sc.status()["status"]["destination"]
        assert dest["kind"] == "none" and dest["durable"] is False and dest["path"] is None
        assert "drive.mount" in dest["fix"]
        ckpt.now()
        status = until(lambda: sc.status()["status"]["lastError"], "the reason")
        assert "no durable destination" in status["message"]
        alerts = sc.call("GET", "/alerts?ruleId=checkpoint.destination")["alerts"]
        assert alerts and "drive.mount" in alerts[0]["message"]
        assert not list((root / "content").rglob("*.pkl"))
    finally:
        _core.unwatch()
        sc.stop()


def test_restore_after_a_restart_loads_the_newest_verified_checkpoint(colab, tmp_path, sidecar_built):
    from checkpoint_fixtures import Sidecar

    model = Model()
    step = 0
    ckpt.watch(model=model, step=lambda: step, run="resume")
    for step in (10, 20):
        model.w = step * 3
        save_now(colab)
    _core.unwatch()
    # The runtime is recycled: the sidecar, its data dir and the kernel are gone; Drive stays.
    colab.stop()
    fresh = Sidecar(tmp_path / "fresh-data", colab.env, colab.root).start()
    try:
        again = Model()
        ckpt.watch(model=again, step=lambda: step, run="resume", data_dir=fresh.data_dir)
        assert ckpt.latest().endswith("resume/step-20.pkl")
        state = ckpt.restore()
        assert state["step"] == 20
        assert again.w == 60
        # The new sidecar adopts the previous runtime's checkpoints: shown as the last one, and
        # counted when it keeps 3 (step 10 goes once steps 30 and 40 are verified).
        last = until(lambda: fresh.status()["status"]["lastVerified"], "the adopted checkpoint")
        assert last["step"] == 20 and last["verified"]
        for step in (30, 40):
            assert save_now(fresh)["verified"]
        folder = fresh.drive / "resume"
        assert sorted(p.name for p in folder.iterdir()) == ["step-20.pkl", "step-30.pkl", "step-40.pkl", "vigilo-checkpoints.json"]
        assert [e["step"] for e in manifest(folder)["checkpoints"]] == [40, 30, 20]
    finally:
        _core.unwatch()
        fresh.stop()


def test_restore_refuses_a_checkpoint_whose_bytes_changed(colab):
    model = Model(5)
    ckpt.watch(model=model, step=lambda: 5, run="tamper")
    record = save_now(colab)
    with open(record["path"], "r+b") as fh:
        fh.seek(3)
        fh.write(b"X")
    with pytest.raises(ckpt.CheckpointError, match="sha256"):
        ckpt.restore()


def test_the_next_session_reports_the_last_verified_checkpoint(colab):
    from checkpoint_fixtures import Sidecar

    ckpt.watch(model=Model(1), step=lambda: 4200, run="report")
    assert save_now(colab)["verified"]
    _core.unwatch()
    colab.stop()
    again = Sidecar(colab.data_dir, colab.env, colab.root).start()
    try:
        previous = until(lambda: (again.call("GET", "/metrics").get("session") or {}).get("previous"), "the previous session")
        assert "last verified checkpoint at step 4200, 0 min before the runtime ended" in previous["how"]
    finally:
        again.stop()


def test_a_restarted_sidecar_learns_again_that_the_kernel_watches(colab):
    from checkpoint_fixtures import Sidecar

    ckpt.watch(model=Model(3), step=lambda: 300, run="again")
    colab.stop()
    again = Sidecar(colab.data_dir, colab.env, colab.root).start()
    try:
        # The next heartbeat answer says "not watched"; the kernel registers again by itself.
        until(lambda: again.status()["status"]["watching"], "the kernel to watch again")
        record = save_now(again)
        assert record["verified"] and record["step"] == 300
    finally:
        again.stop()


def test_on_kaggle_checkpoints_go_to_kaggle_working_within_its_output_limit(tmp_path, sidecar_built, monkeypatch):
    from checkpoint_fixtures import Sidecar, fake_kaggle

    root = tmp_path / "root"
    env = fake_kaggle(root)
    monkeypatch.setenv("VIGILO_DATA_DIR", str(tmp_path / "data"))
    sc = Sidecar(tmp_path / "data", env, root).start()
    try:
        def save(path):
            with open(path, "wb") as fh:
                fh.write(b"k" * (1 << 20))

        ckpt.watch(save=save, step=lambda: 1, run="kg")
        dest = until(lambda: (lambda d: d if d["kind"] == "kaggle" and d["limitBytes"] else None)(sc.status()["status"]["destination"]), "the Kaggle destination")
        assert dest["path"] == str(root / "kaggle" / "working" / "vigilo-checkpoints" / "kg")
        assert dest["limitBytes"] == 20e9 and dest["durable"] is True
        assert "Save Version" in dest["fix"]
        first = save_now(sc)
        assert first["verified"] and first["path"].startswith(str(root / "kaggle" / "working"))
        # Only 3 MB of output allowed: judged from the last checkpoint's size, the next one does not
        # fit, so the kernel is not even asked to save.
        sc.call("POST", "/profile", {"overrides": {"outputLimit": "3MB"}})
        until(lambda: sc.status()["status"]["destination"]["limitBytes"] == 3e6, "the new limit")
        answer = ckpt.now()
        assert not answer["accepted"] and "not enough room" in answer["message"]
        assert sha(first["path"]) == first["sha256"]
        assert sc.status()["status"]["lastVerified"]["id"] == first["id"]
    finally:
        _core.unwatch()
        sc.stop()


def test_with_torch_imported_state_dicts_go_through_torch_save_and_load(colab, monkeypatch):
    """torch is too large for CI: a stand-in with torch.save(obj, path) / torch.load(path, map_location, weights_only)."""
    import types

    calls = []
    torch = types.ModuleType("torch")

    def save(obj, path):
        calls.append(("save", path))
        with open(path, "wb") as fh:
            pickle.dump(obj, fh)

    def load(path, map_location=None, weights_only=True):
        calls.append(("load", path, map_location, weights_only))
        with open(path, "rb") as fh:
            return pickle.load(fh)

    torch.save, torch.load = save, load
    monkeypatch.setitem(sys.modules, "torch", torch)
    model, opt = Model(11), Model(22)
    ckpt.watch(model=model, optimizer=opt, step=lambda: 50, run="torch")
    record = save_now(colab)
    assert record["path"].endswith("step-50.pt")
    assert calls[0][0] == "save"
    model.w, opt.w = 0, 0
    state = ckpt.restore()
    assert (model.w, opt.w, state["step"]) == (11, 22, 50)
    assert calls[-1] == ("load", record["path"], "cpu", False)


def test_import_vigilo_is_enough_for_vigilo_checkpoint():
    import subprocess

    code = "import sys, vigilo; assert 'vigilo.checkpoint' not in sys.modules; print(vigilo.checkpoint.step.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "vigilo.checkpoint._core"
