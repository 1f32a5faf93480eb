"""Will it finish? Progress facts from a real kernel reach the sidecar.

A real IPython kernel (ipykernel, started with jupyter_client) loads
``%vigilo``, runs a real tqdm loop, and the sidecar's /metrics shows the bar,
its rate and a finish estimate. Plus the kernel-side pieces on their own:
``vigilo.progress``, the tqdm reader, the heartbeat payload.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import time

import pytest

from vigilo import _progress, _sidecar
from vigilo._kernel import Heartbeat


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_explicit_progress_keeps_the_latest_step_and_restarts_when_the_step_goes_back():
    clock = FakeClock()
    board = _progress.ProgressBoard(clock=clock)
    board.report(0, 1000, name="train", source="trainer")
    clock.t += 30
    board.report(100, 1000, name="train", source="trainer")
    [bar] = board.snapshot()
    assert bar == {"id": "trainer:train", "source": "trainer", "name": "train", "n": 100.0, "total": 1000.0, "elapsedS": 30.0, "closed": False, "idleS": 0.0}
    clock.t += 5
    board.report(3, 1000, name="train", source="trainer")  # a new run under the same name
    [bar] = board.snapshot()
    assert (bar["n"], bar["elapsedS"]) == (3.0, 0.0)
    board.report(1000, 1000, name="train", source="trainer")
    clock.t += 2
    [bar] = board.snapshot()
    assert bar["closed"] is True and bar["elapsedS"] == 0.0


def test_progress_never_raises_into_the_users_loop():
    board = _progress.ProgressBoard()
    board.report(float("nan"), 10)
    board.report(-1, 10)
    assert board.snapshot() == []
    import vigilo

    vigilo.progress("not a number", 10, name="x")  # swallowed


def test_tqdm_bars_are_read_where_tqdm_keeps_them_and_closed_bars_are_remembered():
    tqdm = importlib.import_module("tqdm")
    board = _progress.ProgressBoard()
    try:
        with open(os.devnull, "w") as sink:
            outer = tqdm.tqdm(total=3, desc="epochs", file=sink)
            assert board.hook_tqdm() is True
            inner = tqdm.tqdm(total=50, desc="batches", file=sink, mininterval=0)
            inner.update(20)
            facts = {f["name"]: f for f in board.snapshot()}
            assert facts["epochs"]["position"] == 0 and facts["batches"]["position"] == 1
            assert facts["batches"]["n"] == 20 and facts["batches"]["total"] == 50
            inner.update(30)
            inner.close()
            outer.update(1)
            facts = {f["name"]: f for f in board.snapshot()}
            assert facts["batches"]["closed"] is True and facts["batches"]["n"] == 50
            assert facts["epochs"]["closed"] is False and facts["epochs"]["n"] == 1
            outer.close()
    finally:
        board.unhook_tqdm()


def test_the_heartbeat_carries_progress_and_no_torch_when_torch_is_not_imported(monkeypatch):
    monkeypatch.setattr(_progress, "_board", _progress.ProgressBoard())
    _progress.progress(5, 50, name="fit")
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    hb = Heartbeat()
    body = hb.payload()
    hb.stop()
    assert [b["name"] for b in body["progress"]] == ["fit"]
    assert "torch" not in body


def test_stopping_the_heartbeat_leaves_tqdm_as_it_was(monkeypatch):
    tqdm = importlib.import_module("tqdm")
    original = getattr(tqdm.std.tqdm.close, "_vigilo_original", tqdm.std.tqdm.close)
    monkeypatch.setattr(_progress, "_board", _progress.ProgressBoard())
    hb = Heartbeat()
    hb.payload()
    assert tqdm.std.tqdm.close is not original
    hb.stop()
    assert tqdm.std.tqdm.close is original


def test_one_close_hook_serves_every_board_until_the_last_unhooks():
    tqdm = importlib.import_module("tqdm")
    gc.collect()  # boards of earlier tests that were never unhooked leave the hook's weak set
    original = getattr(tqdm.std.tqdm.close, "_vigilo_original", tqdm.std.tqdm.close)
    a, b = _progress.ProgressBoard(), _progress.ProgressBoard()
    a.hook_tqdm()
    b.hook_tqdm()
    a.unhook_tqdm()
    with open(os.devnull, "w") as sink:
        bar = tqdm.tqdm(total=5, desc="eval", file=sink)
        bar.update(5)
        bar.close()
    assert [f["closed"] for f in b.snapshot() if f["name"] == "eval"] == [True]
    assert a.snapshot() == []  # a unhooked before the bar closed: it saw nothing (and hooks again)
    a.unhook_tqdm()
    b.unhook_tqdm()
    assert tqdm.std.tqdm.close is original


# -- a real kernel -----------------------------------------------------------------


@pytest.fixture
def kernel(vigilo_data_dir):
    jupyter_client = importlib.import_module("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "VIGILO_DATA_DIR": str(vigilo_data_dir)})
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield client
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def run(client, code: str, timeout: float = 60) -> dict:
    reply = client.execute_interactive(code, timeout=timeout, output_hook=lambda _msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply


def test_a_tqdm_loop_in_a_real_kernel_reaches_the_sidecars_metrics(kernel, sidecar_fast_heartbeat):
    discovery = sidecar_fast_heartbeat
    run(kernel, "%load_ext vigilo\n%vigilo")
    # The loop runs for ~6 s while this test reads /metrics; heartbeats come every second.
    msg_id = kernel.execute("from tqdm.auto import tqdm\nimport time\nfor _ in tqdm(range(60), desc='train', mininterval=0.05):\n    time.sleep(0.1)\n")
    seen_running = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, metrics = _sidecar.request(discovery, "GET", "/metrics")
        assert status == 200
        main = (metrics.get("progress") or {}).get("main")
        if main and main["name"] == "train" and main["status"] == "running" and main["n"] >= 20:
            seen_running = metrics["progress"]
            break
        time.sleep(0.2)
    assert seen_running is not None, f"no running tqdm bar reached /metrics: {metrics.get('progress')}"
    main = seen_running["main"]
    assert main["source"] == "tqdm" and main["total"] == 60
    # ~10 it/s in the kernel; the sidecar's estimate from heartbeats lands near it.
    assert 5 <= main["ratePerS"] <= 15, main
    assert 0 < main["remainingS"] <= 10
    assert seen_running["verdict"]["text"].startswith("finishes in"), seen_running["verdict"]
    # When the loop ends, the bar is reported closed at 60 of 60.
    reply = kernel.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.get_shell_msg(timeout=30)
    deadline = time.monotonic() + 10
    bar = None
    while time.monotonic() < deadline:
        _status, metrics = _sidecar.request(discovery, "GET", "/metrics")
        bar = next((b for b in metrics["progress"]["bars"] if b["name"] == "train"), None)
        if bar and bar["closed"]:
            break
        time.sleep(0.2)
    assert bar and bar["closed"] and bar["n"] == 60, bar
    json.dumps(metrics)  # the section is plain JSON
