"""Nothing the notebook sent is lost: undelivered events wait in memory and on disk, a sidecar that comes back (on a
new port, with a new token) gets them, each exactly once; what is past the disk bound is counted."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from fakes.server import LoopbackServer, Reply
from fakes.sidecar_fake import TOKEN, FakeSidecar
from llm_fixtures import *  # noqa: F401,F403
from llm_fixtures import openai_client

ROOT = Path(__file__).resolve().parent.parent


def _closed_url() -> str:
    server = LoopbackServer(lambda request: Reply(500, {})).start()
    url = server.url
    server.stop()
    return url


def _ask(llm, client, n: int, prefix: str) -> None:
    for i in range(n):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"{prefix} {i}"}])


def _stored(discovery: dict) -> "list[dict]":
    from vigilo import _sidecar

    status, body = _sidecar.request(discovery, "GET", "/llm/calls?limit=200")
    assert status == 200, body
    return body["calls"]


def _until(predicate, seconds: float = 30.0) -> bool:
    """Wait for something the background sender does (bounded: its backoff is at most 5 s)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_calls_made_while_no_sidecar_runs_are_stored_once_by_the_sidecar_that_comes_up_and_a_resend_counts_nothing(
    llm, fake_openai, vigilo_data_dir, sidecar_built
):
    from vigilo import _sidecar
    from vigilo.llm._delivery import runtime

    llm.configure(url=None, data_dir=str(vigilo_data_dir))
    client = llm.wrap(openai_client(fake_openai))
    rt = runtime()
    with rt._send_lock:  # keep the records in the buffer to build their events here: the resend below needs them
        _ask(llm, client, 12, "before")
        events = [rt._queue.popleft().build() for _ in range(12)]
        for event in events:
            rt.enqueue(event)
    assert llm.flush(2.0) is False
    assert llm.stats()["pending"] == 12 and "no sidecar" in llm.stats()["lastError"]

    discovery = _sidecar.ensure_running(vigilo_data_dir)
    # No flush(): the background sender reads sidecar.json again at its next try and delivers by itself.
    assert _until(lambda: llm.stats()["pending"] == 0 and llm.stats()["sent"] == 12), llm.stats()
    stored = _stored(discovery)
    assert sorted(c["id"] for c in stored) == sorted(e["id"] for e in events)

    # The same events again (a resend after an answer that never came back): the sidecar keeps one of each.
    for event in events:
        rt.enqueue(event)
    assert llm.flush(10.0) is True, llm.stats()
    assert llm.stats()["duplicates"] == 12
    assert len(_stored(discovery)) == 12
    status, usage = _sidecar.request(discovery, "GET", "/llm/usage")
    assert status == 200 and usage["calls"] == 12


def test_a_sidecar_killed_and_started_again_on_a_new_port_gets_every_call_exactly_once(
    llm, fake_openai, vigilo_data_dir, sidecar_built
):
    """What the kernel's heartbeat does after a kill -9 (engineer H2's restart), seen from the delivery: the events
    of the calls made while no sidecar answered are kept and reach the new sidecar, found through sidecar.json."""
    from vigilo import _sidecar

    first = _sidecar.ensure_running(vigilo_data_dir)
    llm.configure(url=None, data_dir=str(vigilo_data_dir))
    client = llm.wrap(openai_client(fake_openai))
    _ask(llm, client, 5, "up")
    assert llm.flush(10.0) is True, llm.stats()

    os.kill(int(first["pid"]), signal.SIGKILL)  # the sidecar this test started
    assert _until(lambda: not _sidecar.pid_alive(first["pid"]), 10.0)
    _ask(llm, client, 7, "down")
    assert llm.flush(1.0) is False and llm.stats()["pending"] == 7, llm.stats()

    second = _sidecar.ensure_running(vigilo_data_dir)
    assert (second["url"], second["token"]) != (first["url"], first["token"])
    assert llm.flush(10.0) is True, llm.stats()
    stored = _stored(second)
    assert len(stored) == 12 and len({c["id"] for c in stored}) == 12
    assert llm.stats()["sent"] == 12 and llm.stats()["dropped"] == 0


def test_events_spilled_to_disk_at_exit_0600_are_sent_once_by_the_next_process(llm, fake_openai, tmp_path):
    data = tmp_path / "data"
    script = (
        "import openai, vigilo\n"
        f"vigilo.configure(url={_closed_url()!r}, token={TOKEN!r}, data_dir={str(data)!r}, max_queue=4)\n"
        f"client = vigilo.wrap(openai.OpenAI(api_key='sk-fake-key', base_url={fake_openai.base_url!r}, max_retries=0))\n"
        "for i in range(10):\n"
        "    client.chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', 'content': f'spilled {i}'}])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIGILO_CAPTURE_CONTENT", "VIGILO_DATA_DIR")}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    spool = data / "llm-spool"
    files = [p for p in spool.iterdir() if not p.name.startswith(".")]
    assert files and all(p.stat().st_mode & 0o777 == 0o600 for p in files), files
    assert spool.stat().st_mode & 0o777 == 0o700
    on_disk = [json.loads(line) for p in files for line in p.read_text().splitlines()]
    assert sorted(e["messages"][0]["content"] for e in on_disk) == sorted(f"spilled {i}" for i in range(10))

    sidecar = FakeSidecar()
    with sidecar.server:
        llm.configure(url=sidecar.url, token=TOKEN, data_dir=str(data))
        assert llm.stats()["spooled"] == 10
        assert llm.flush(5.0) is True, llm.stats()
        events = sidecar.events()
        assert llm.flush(5.0) is True  # nothing left: nothing sent twice
        assert len(sidecar.events()) == 10
    assert sorted(e["id"] for e in events) == sorted(e["id"] for e in on_disk)
    assert llm.stats()["spooled"] == 0 and not [p for p in spool.iterdir() if not p.name.startswith(".")]


def test_past_the_disk_bound_events_are_dropped_counted_and_said_and_the_rest_delivered(llm, fake_openai, tmp_path):
    data = tmp_path / "data"
    # One event of this call is about 1.1 kB: the disk holds three of them, memory one.
    llm.configure(url=_closed_url(), token=TOKEN, data_dir=str(data), max_queue=1, max_spool_bytes=3500)
    client = llm.wrap(openai_client(fake_openai))
    _ask(llm, client, 10, "bounded")
    assert llm.flush(2.0) is False
    from vigilo.llm._delivery import runtime

    assert _until(lambda: llm.stats()["pending"] <= 1)  # the sender has moved the overflow to disk (or dropped it)
    with runtime()._send_lock:  # and is not in the middle of doing so
        stats = llm.stats()
    assert stats["dropped"] > 0 and "disk buffer" in stats["lastDrop"] and "is full" in stats["lastDrop"], stats
    assert stats["dropped"] + stats["spooled"] + stats["pending"] == 10, stats
    size = sum(p.stat().st_size for p in (data / "llm-spool").iterdir() if not p.name.startswith("."))
    assert 0 < size <= 3500

    sidecar = FakeSidecar()
    with sidecar.server:
        llm.configure(url=sidecar.url)
        llm.flush(5.0)  # False when drops happened after the first flush said so: this one says those
        assert llm.stats()["pending"] == 0 and llm.stats()["spooled"] == 0, llm.stats()
        assert llm.flush(5.0) is True  # nothing lost since
        delivered = sidecar.events()
    assert len(delivered) == 10 - stats["dropped"] and len({e["id"] for e in delivered}) == len(delivered)


def test_a_window_of_calls_travels_in_one_request(llm, sidecar, fake_openai):
    llm.configure(batch_window=30.0)  # the sender waits the window out: the test decides when it ends (flush)
    client = llm.wrap(openai_client(fake_openai))
    _ask(llm, client, 20, "window")
    assert sidecar.batches() == []
    assert llm.flush(5.0) is True
    assert [len(b) for b in sidecar.batches()] == [20]


class _ClosingServer:
    """Answers each request on a connection with 200 and keep-alive, then closes that connection anyway (as a
    server whose keep-alive timeout passed does): the client learns it only when it sends again."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.answered = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(65536)
                answer = b'{"accepted":0,"duplicates":0}'
                self.answered += 1  # before the answer leaves: the client may look at it as soon as it has the answer
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))

    def stop(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def test_one_kept_alive_connection_carries_the_requests_and_a_dropped_one_is_replaced():
    from vigilo.llm._transport import IDLE_S, Connection

    now = [0.0]
    sidecar = FakeSidecar()
    with sidecar.server:
        connection = Connection(clock=lambda: now[0])
        for _ in range(5):
            status, body = connection.post(sidecar.url, TOKEN, "/llm/events", b'{"events":[]}', 5.0)
            assert status == 200 and body["accepted"] == 0
        assert connection.opened == 1
        now[0] += IDLE_S + 1  # the sidecar drops connections idle for 5 s: not reused, a new one
        assert connection.post(sidecar.url, TOKEN, "/llm/events", b'{"events":[]}', 5.0)[0] == 200
        assert connection.opened == 2
        connection.close()

    closing = _ClosingServer()
    try:
        connection = Connection()
        for _ in range(3):  # each time the kept connection turns out closed: sent again on a fresh one, once
            assert connection.post(closing.url, TOKEN, "/llm/events", b'{"events":[]}', 5.0)[0] == 200
        assert closing.answered == 3 and connection.opened == 3
        connection.close()
    finally:
        closing.stop()


def test_while_the_sidecar_stays_away_the_files_on_disk_are_left_as_they_are(llm, fake_openai, tmp_path):
    data = tmp_path / "data"
    llm.configure(url=_closed_url(), token=TOKEN, data_dir=str(data), max_queue=1)
    client = llm.wrap(openai_client(fake_openai))
    _ask(llm, client, 6, "waiting")
    assert llm.flush(2.0) is False
    from vigilo.llm._delivery import runtime

    assert _until(lambda: llm.stats()["pending"] == 0)  # max_queue 1: all of it went to disk
    with runtime()._send_lock:
        files = sorted((p.name, p.stat().st_mtime_ns) for p in (data / "llm-spool").iterdir())
        assert files and all(".claimed-" not in name for name, _ in files)
    for _ in range(3):  # tried again and again: each file goes back under its own name, never rewritten
        assert llm.flush(1.0) is False
        assert sorted((p.name, p.stat().st_mtime_ns) for p in (data / "llm-spool").iterdir()) == files


def test_the_send_interval_rule():
    from vigilo.llm._delivery import next_send_at

    # A lone call (the last delivery long ago) goes after the coalescing window.
    assert next_send_at(100.0, float("-inf"), 0.1, 1.0) == 100.1
    assert next_send_at(100.0, 90.0, 0.1, 1.0) == 100.1
    # A call within the interval of the last delivery waits for the interval to end.
    assert next_send_at(100.25, 100.0, 0.1, 1.0) == 101.0
    assert next_send_at(100.95, 100.0, 0.1, 1.0) == 101.05


def test_calls_that_follow_a_delivery_wait_for_the_send_interval_and_travel_together(llm, sidecar, fake_openai):
    llm.configure(batch_window=0.0, send_interval=30.0)
    client = llm.wrap(openai_client(fake_openai))
    _ask(llm, client, 1, "lone")
    assert _until(lambda: len(sidecar.batches()) == 1)  # a lone call goes at once (window 0)
    _ask(llm, client, 5, "following")
    time.sleep(0.3)  # a sender without the interval would have sent these by now (window 0)
    assert [len(b) for b in sidecar.batches()] == [1] and llm.stats()["pending"] == 5
    assert llm.flush(5.0) is True  # flush does not wait for the interval
    assert [len(b) for b in sidecar.batches()] == [1, 5]
