"""Issue 17, under a real IPython kernel (jupyter_client): the sidecar killed with
SIGKILL while a wrapped OpenAI client is called every 0.2 s comes back within two
heartbeats, leaves no zombie, and every call made meanwhile is stored exactly once;
a kernel restart leaves the sidecar running.

The heartbeat period is 1 s here (VIGILO_HEARTBEAT_S; 10 s by default). The
provider is the loopback OpenAI fake of tests/fakes, answered in this process.
"""
from __future__ import annotations

import ast
import importlib
import os
import queue
import signal
import time

import pytest

from fakes.openai_fake import FakeOpenAI
from test_lifecycle import wait_until
from vigilo import _restarts, _sidecar

HEARTBEAT_S = 1.0
KILLS = 3
CONVERSATION = "kill-loop"

CALL_LOOP = """
import threading, openai, vigilo
_client = vigilo.wrap(openai.OpenAI(api_key="sk-fake-key", base_url={base!r}, max_retries=0))
made = []
_stop = threading.Event()
def _loop():
    while not _stop.is_set():
        with vigilo.track(conversation_id={conv!r}):
            _client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": f"call {{len(made)}}"}}])
        made.append(1)
        _stop.wait(0.2)
_thread = threading.Thread(target=_loop, daemon=True)
_thread.start()
"""


@pytest.fixture
def fake_openai():
    """The loopback OpenAI of tests/fakes (llm_fixtures has the same fixture, but importing it loads every provider
    SDK into this process, which these kernel tests do not need)."""
    fake = FakeOpenAI()
    with fake.server:
        yield fake


@pytest.fixture
def kernel_manager(vigilo_data_dir, sidecar_built, tmp_path):
    jupyter_client = importlib.import_module("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    # Its own IPYTHONDIR: the kernel's history database is not ~/.ipython's, which every other kernel and shell on
    # this machine writes to (a kernel waiting on that SQLite file once missed kernel_info for 60 s after a restart).
    env = {**os.environ, "VIGILO_DATA_DIR": str(vigilo_data_dir), "VIGILO_HEARTBEAT_S": str(HEARTBEAT_S), "IPYTHONDIR": str(tmp_path / "ipython")}
    km.start_kernel(env=env)
    clients = []

    def connect():
        # A fresh client again when one never hears kernel_info: after restart_kernel, about 1 in 4 first clients here
        # did not (with no Vigilo in the kernel at all, TCP or IPC transport alike); a second client always did.
        for attempt in range(3):
            client = km.client()
            client.start_channels()
            clients.append(client)
            try:
                client.wait_for_ready(timeout=20)
                return client
            except RuntimeError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    try:
        yield km, connect
    finally:
        for client in clients:
            client.stop_channels()
        km.shutdown_kernel(now=True)


def run(client, code: str, timeout: float = 60, **expressions: str) -> dict:
    """Execute and read the shell reply only (not IOPub, which a client connected just after a restart
    sometimes never heard here); user_expressions bring the values back."""
    msg_id = client.execute(code, user_expressions=expressions)
    deadline = time.monotonic() + timeout
    while True:
        reply = client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert reply["content"]["status"] == "ok", reply["content"]
    values = {}
    for name, result in reply["content"].get("user_expressions", {}).items():
        assert result["status"] == "ok", result
        values[name] = ast.literal_eval(result["data"]["text/plain"])
    return values


def stored_calls(discovery: dict) -> "list[str]":
    status, body = _sidecar.request(discovery, "GET", f"/llm/calls?conversationId={CONVERSATION}&limit=1000")
    assert status == 200, body
    return [c["id"] for c in body["calls"]]


def answering_other_than(data_dir, pid: int):
    d = _sidecar.read_discovery(data_dir)
    return d if d and d["pid"] != pid and _sidecar.probe(d, timeout=0.5) else None


def test_a_kernel_restart_keeps_the_sidecar(kernel_manager, vigilo_data_dir):
    km, connect = kernel_manager
    client = connect()
    run(client, "%load_ext vigilo\n%vigilo")
    before = _sidecar.read_discovery(vigilo_data_dir)
    km.restart_kernel(now=True)
    assert _sidecar.probe(before), "the sidecar outlived the kernel that started it"
    # A client connected just after restart_kernel sometimes never hears its first reply here (seen with no Vigilo in
    # the kernel too): ask again through a fresh client. A kernel stuck in %vigilo would not answer the second either.
    for attempt in range(3):
        try:
            run(connect(), "%load_ext vigilo\n%vigilo", timeout=30)
            break
        except queue.Empty:
            if attempt == 2:
                raise
    assert _sidecar.read_discovery(vigilo_data_dir)["pid"] == before["pid"]
    assert _restarts.read(vigilo_data_dir)["count"] == 0


def test_kill_9_under_calls_every_0_2_s_restarts_within_two_heartbeats_with_no_zombie_and_no_call_lost(kernel_manager, fake_openai, vigilo_data_dir):
    km, connect = kernel_manager
    client = connect()
    t0 = time.monotonic()
    run(client, "%load_ext vigilo\n%vigilo")
    first_start_s = time.monotonic() - t0
    run(client, CALL_LOOP.format(base=fake_openai.base_url, conv=CONVERSATION))
    kernel_pid = km.provisioner.process.pid
    back_after = []
    for kill_no in range(KILLS):
        victim = _sidecar.read_discovery(vigilo_data_dir)
        already = len(stored_calls(victim))
        wait_until(lambda: len(stored_calls(victim)) >= already + 5, 30, "five calls stored")
        assert _sidecar.process_state(victim["pid"]) in ("S", "R")
        with open(f"/proc/{victim['pid']}/stat") as fh:
            assert int(fh.read().rsplit(")", 1)[1].split()[1]) == kernel_pid  # the kernel started it
        killed_at = time.monotonic()
        os.kill(victim["pid"], signal.SIGKILL)
        new = wait_until(lambda: answering_other_than(vigilo_data_dir, victim["pid"]), 60, "a new sidecar")
        back_after.append(time.monotonic() - killed_at)
        # The heartbeat's restart is complete once it counted it (it saw the new sidecar answer too).
        wait_until(lambda: _restarts.read(vigilo_data_dir)["count"] == kill_no + 1, 30, "the restart counted")
        # Reaped by the kernel at once: no zombie, no process left.
        wait_until(lambda: _sidecar.process_state(victim["pid"]) is None, 5, f"pid {victim['pid']} reaped (state {_sidecar.process_state(victim['pid'])})")
        assert _sidecar.is_sidecar_process(new["pid"])
    # Within two heartbeats: the first beat after the kill notices and starts one, which then needs
    # a start's time (measured above for the first start: node, stores, listening).
    assert max(back_after) <= 2 * HEARTBEAT_S + max(3.0, 2 * first_start_s), (back_after, first_start_s)

    values = run(client, "_stop.set(); _thread.join(10); _flushed = vigilo.flush(timeout=30)", flushed="_flushed", made="len(made)", notice="vigilo._magics.heartbeat.notice")
    assert values["flushed"] is True
    ids = stored_calls(_sidecar.read_discovery(vigilo_data_dir))
    assert len(ids) == len(set(ids)) == values["made"], f"{values['made']} made, {len(ids)} stored ({len(set(ids))} distinct)"
    assert "was restarted" in values["notice"]
    record = _restarts.read(vigilo_data_dir)
    assert record["count"] == KILLS and "restarted by the heartbeat of kernel" in record["last"]["reason"]
    status = _sidecar.request(_sidecar.read_discovery(vigilo_data_dir), "GET", "/status")[1]
    assert status["lifecycle"]["restarts"]["count"] == KILLS
    print(f"\nkill -9 -> answering again: {', '.join(f'{s:.2f}' for s in back_after)} s (first start {first_start_s:.2f} s); {values['made']} calls made, {len(ids)} stored")
