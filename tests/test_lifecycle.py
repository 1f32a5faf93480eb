"""The sidecar's life with real processes: one per data dir however many start at
once, a stale sidecar.json never blocks or misleads a start, and a heartbeat that
restarts a dead sidecar (with backoff, and not forever).

The kill -9 loop under a real IPython kernel is in tests/test_lifecycle_kernel.py.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vigilo import _restarts, _sidecar
from vigilo._kernel import Heartbeat

ROOT = Path(__file__).resolve().parent.parent

STARTER = """
import json, sys, time
sys.path.insert(0, {root!r})
from vigilo import _sidecar
sys.stdin.readline()  # the barrier: every starter goes at once
t = time.monotonic()
try:
    d = _sidecar.ensure_running({data!r}, timeout=60)
    print(json.dumps({{"ok": True, "pid": d["pid"], "s": time.monotonic() - t}}))
except Exception as err:
    print(json.dumps({{"ok": False, "error": str(err)}}))
"""


def sidecar_pids(data_dir: Path) -> "list[int]":
    """Live sidecar processes started for this data dir (from /proc, not from sidecar.json)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        cmdline = _sidecar.process_cmdline(entry) or ""
        if "--data-dir " + str(data_dir) in cmdline and "serve" in cmdline and _sidecar.pid_alive(entry):
            pids.append(int(entry))
    return pids


def wait_until(condition, timeout: float, what: str, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_three_starts_at_once_twenty_times_give_one_sidecar_and_no_failure(sidecar_built, vigilo_data_dir):
    """Issue 17.1: three notebooks starting Vigilo together. Odd rounds kill -9 the sidecar
    (the next round's start replaces a dead one); even rounds stop it gracefully."""
    failures, kills, times = [], 0, []
    for round_no in range(20):
        starters = [
            subprocess.Popen(
                [sys.executable, "-c", STARTER.format(root=str(ROOT), data=str(vigilo_data_dir))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for p in starters:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.communicate(timeout=90)[0]) for p in starters]
        failures += [r["error"] for r in results if not r["ok"]]
        pids = {r.get("pid") for r in results if r["ok"]}
        assert len(pids) == 1, f"round {round_no}: starters attached to {pids}"
        wait_until(lambda: sidecar_pids(vigilo_data_dir) == list(pids), 10, f"round {round_no}: one sidecar process")
        times += [r["s"] for r in results if r["ok"]]
        pid = pids.pop()
        if round_no % 2:
            os.kill(pid, signal.SIGKILL)
            kills += 1
            wait_until(lambda: not _sidecar.pid_alive(pid), 10, "the killed sidecar to go")
        else:
            assert _sidecar.stop(vigilo_data_dir)
    assert failures == []
    record = _restarts.read(vigilo_data_dir)
    # Every round that found a killed sidecar counted one restart (the last kill had no round after
    # it); a graceful stop is not a restart.
    assert record["count"] == kills - 1 and record["failedStarts"] == 0
    assert "exited" in record["last"]["reason"]
    print(f"\n60 starts: slowest {max(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s; {kills} kills, {record['count']} restarts in restarts.json")


def test_vigilo_serve_by_hand_racing_two_notebook_starts_gives_one_sidecar(sidecar_built, vigilo_data_dir):
    """`vigilo serve` takes no start lock (Node has no flock): the sidecar's claim on the data dir decides."""
    wins = 0
    for round_no in range(5):
        starters = [
            subprocess.Popen([sys.executable, "-c", STARTER.format(root=str(ROOT), data=str(vigilo_data_dir))], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        by_hand = subprocess.Popen(
            _sidecar.sidecar_command() + ["serve", "--port", "0", "--json", "--data-dir", str(vigilo_data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for p in starters:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.communicate(timeout=90)[0]) for p in starters]
        announce = json.loads(by_hand.stdout.readline())
        assert all(r["ok"] for r in results), results
        pids = {r["pid"] for r in results} | {announce["pid"]}
        assert len(pids) == 1, f"round {round_no}: {results} {announce}"
        if announce["event"] == "attached":
            assert by_hand.wait(timeout=30) == _sidecar.ATTACHED_EXIT  # it exits right after saying so
        else:
            wins += 1
        # A sidecar a notebook spawned that lost the claim is on its way out (it saw the winner answer): one stays.
        wait_until(lambda: sidecar_pids(vigilo_data_dir) == list(pids), 10, f"only pid {pids} left")
        assert _sidecar.stop(vigilo_data_dir)
        by_hand.wait(timeout=30)
        by_hand.stdout.close()
    print(f"\nvigilo serve by hand won {wins} of 5 rounds against two notebook starts")


def test_a_stale_sidecar_json_naming_a_reused_pid_and_a_silent_port_neither_blocks_nor_misleads_a_start(sidecar_built, vigilo_data_dir):
    """Issue 17.4: the pid in sidecar.json now belongs to another program (here `sleep`), and
    the port it names accepts connections but never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # never accepts: a request there hangs until its timeout
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        vigilo_data_dir.mkdir(parents=True)
        port = silent.getsockname()[1]
        (vigilo_data_dir / "sidecar.json").write_text(json.dumps({"url": f"http://127.0.0.1:{port}", "port": port, "pid": bystander.pid, "token": "old"}))
        assert _sidecar.stale_reason(_sidecar.read_discovery(vigilo_data_dir)) == f"sidecar pid {bystander.pid} exited (the pid now belongs to another program)"
        found = _sidecar.ensure_running(vigilo_data_dir, timeout=60)
        assert found["pid"] != bystander.pid and _sidecar.probe(found)
        assert bystander.poll() is None  # never signalled
        status = _sidecar.request(found, "GET", "/status")[1]
        assert status["lifecycle"]["restarts"]["count"] == 1
        assert status["lifecycle"]["restarts"]["last"]["previousPid"] == bystander.pid
    finally:
        bystander.kill()
        bystander.wait()
        silent.close()


def test_a_pid_reused_by_the_sidecar_of_another_data_dir_is_stale_for_this_one(sidecar_built, vigilo_data_dir, tmp_path):
    other_dir = tmp_path / "other-data"
    other = _sidecar.ensure_running(other_dir, timeout=60)
    try:
        assert _sidecar.stale_reason({"pid": other["pid"]}, other_dir) is None
        assert _sidecar.stale_reason({"pid": other["pid"]}, vigilo_data_dir) == f"sidecar pid {other['pid']} exited (the pid now belongs to another program)"
    finally:
        _sidecar.stop(other_dir)


def test_a_zombie_sidecar_counts_as_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_until(lambda: _sidecar.process_state(child.pid) == "Z", 10, "the child to exit unreaped")
    assert not _sidecar.pid_alive(child.pid)
    assert _sidecar.stale_reason({"pid": child.pid}) == f"sidecar pid {child.pid} exited"
    child.wait()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def failing_node(directory: Path, real_node: str) -> "tuple[Path, Path]":
    """A node that answers --version like the real one and dies at once when asked to serve,
    logging each start to a file (a sidecar that dies at start)."""
    starts = directory / "starts.log"
    exe = directory / "node"
    version = subprocess.run([real_node, "--version"], capture_output=True, text=True).stdout.strip()
    exe.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo {version}; exit 0; fi\n'
        f'echo start >> "{starts}"\n'
        'echo "Error: Cannot find module (simulated broken install)" >&2\n'
        "exit 1\n"
    )
    exe.chmod(0o755)
    return exe, starts


def test_the_heartbeat_restarts_a_killed_sidecar_backs_off_and_stops_after_five_failed_starts(sidecar_built, vigilo_data_dir, tmp_path, monkeypatch):
    clock = Clock()
    first = _sidecar.ensure_running(vigilo_data_dir, timeout=60)
    beat = Heartbeat(vigilo_data_dir, interval=1.0, clock=clock, restart_timeout=60)
    assert beat.beat() and beat.notice is None

    # Killed (what an OOM killer does): the next beat starts a new one and says so.
    os.kill(first["pid"], signal.SIGKILL)
    wait_until(lambda: not _sidecar.pid_alive(first["pid"]), 10, "the killed sidecar to go")
    assert beat.beat()
    second = _sidecar.read_discovery(vigilo_data_dir)
    assert second["pid"] != first["pid"] and _sidecar.probe(second)
    assert f"sidecar pid {first['pid']} exited" in beat.notice and "was restarted" in beat.notice
    assert _restarts.read(vigilo_data_dir)["count"] == 1

    # Now every start dies at once.
    exe, starts = failing_node(tmp_path, _sidecar.find_node())
    monkeypatch.setenv("VIGILO_NODE", str(exe))
    os.kill(second["pid"], signal.SIGKILL)
    wait_until(lambda: not _sidecar.pid_alive(second["pid"]), 10, "the killed sidecar to go")
    attempts = []
    for _ in range(12):
        assert not beat.beat()
        attempts.append(len(starts.read_text().splitlines()) if starts.exists() else 0)
        record = _restarts.read(vigilo_data_dir)
        # Backing off: a beat before the next try is due starts nothing.
        if record["failedStarts"] and record["failedStarts"] < _restarts.MAX_FAILED_STARTS:
            before = attempts[-1]
            assert not beat.beat()
            assert len(starts.read_text().splitlines()) == before
        clock.now += _restarts.MAX_BACKOFF_S
    assert attempts[-1] == _restarts.MAX_FAILED_STARTS == 5  # and not one more
    assert "failed to start 5 times in a row" in beat.notice and "Cannot find module" in beat.notice
    assert "run %vigilo to start it" in beat.notice

    # A second kernel of the same data dir does not try either (the record is shared).
    other = Heartbeat(vigilo_data_dir, interval=1.0, clock=clock)
    assert not other.beat() and "failed to start 5 times" in other.notice
    assert len(starts.read_text().splitlines()) == 5

    # The fix, then an explicit start (%vigilo): it starts, and the count of failures is reset.
    monkeypatch.delenv("VIGILO_NODE")
    third = _sidecar.ensure_running(vigilo_data_dir, timeout=60)
    assert _restarts.read(vigilo_data_dir)["failedStarts"] == 0
    assert beat.beat()
    status = _sidecar.request(third, "GET", "/status")[1]
    assert status["lifecycle"]["restarts"]["count"] == 2


def test_where_restarts_json_cannot_be_written_the_heartbeat_still_backs_off_and_stops(sidecar_built, vigilo_data_dir, tmp_path, monkeypatch):
    clock = Clock()
    first = _sidecar.ensure_running(vigilo_data_dir, timeout=60)
    beat = Heartbeat(vigilo_data_dir, interval=1.0, clock=clock, restart_timeout=60)
    exe, starts = failing_node(tmp_path, _sidecar.find_node())
    monkeypatch.setenv("VIGILO_NODE", str(exe))
    monkeypatch.setattr(_restarts, "_write", lambda directory, record: None)  # the record never changes on disk
    os.kill(first["pid"], signal.SIGKILL)
    wait_until(lambda: not _sidecar.pid_alive(first["pid"]), 10, "the killed sidecar to go")
    for _ in range(3):
        assert not beat.beat()
    assert len(starts.read_text().splitlines()) == 1  # the two beats after it were backing off
    for _ in range(10):
        clock.now += _restarts.MAX_BACKOFF_S
        assert not beat.beat()
    assert len(starts.read_text().splitlines()) == 5 and "failed to start 5 times in a row" in beat.notice
    beat.started()  # %vigilo by hand forgives them
    assert beat.notice is None
    monkeypatch.delenv("VIGILO_NODE")
    clock.now += _restarts.MAX_BACKOFF_S
    assert beat.beat() and "was restarted" in beat.notice


def test_a_sidecar_stopped_on_purpose_is_not_restarted_by_the_heartbeat(sidecar_built, vigilo_data_dir):
    _sidecar.ensure_running(vigilo_data_dir, timeout=60)
    beat = Heartbeat(vigilo_data_dir, interval=1.0)
    assert beat.beat()
    assert _sidecar.stop(vigilo_data_dir)
    assert not beat.beat() and beat.last_error == "no sidecar running"
    assert _sidecar.read_discovery(vigilo_data_dir) is None and sidecar_pids(vigilo_data_dir) == []


def test_a_sidecar_that_does_not_answer_but_lives_is_never_doubled(sidecar_built, vigilo_data_dir):
    """A busy (here: stopped with SIGSTOP) sidecar: the heartbeat waits; no second sidecar starts."""
    found = _sidecar.ensure_running(vigilo_data_dir, timeout=60)
    beat = Heartbeat(vigilo_data_dir, interval=1.0)
    os.kill(found["pid"], signal.SIGSTOP)
    try:
        assert not beat.beat()
        assert sidecar_pids(vigilo_data_dir) == [found["pid"]]
        assert beat.notice is None
    finally:
        os.kill(found["pid"], signal.SIGCONT)
    assert beat.beat()
