"""How fast the launcher knows the sidecar is up (issue 18): the sidecar announces itself on a pipe
the launcher passes (VIGILO_ANNOUNCE_FD) instead of the launcher polling sidecar.json every 50 ms,
and `node --version` is asked once per binary and mtime, remembered in the data dir."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vigilo import _sidecar

ROOT = Path(__file__).resolve().parent.parent


def _child_writing(fd: int, code: str) -> "subprocess.Popen[bytes]":
    return subprocess.Popen([sys.executable, "-c", code, str(fd)], pass_fds=(fd,))


@pytest.mark.skipif(os.name != "posix", reason="the announce pipe is POSIX only; Windows keeps polling")
def test_the_launcher_wakes_when_the_sidecar_announces_not_at_the_end_of_a_wait():
    announce = _sidecar._Announce()
    child = _child_writing(announce.child_fd, "import os, sys, time; time.sleep(0.2); os.write(int(sys.argv[1]), b'{}\\n'); time.sleep(30)")
    announce.spawned()
    try:
        t = time.monotonic()
        announce.wait(20)
        assert time.monotonic() - t < 5, "wait() slept its whole timeout although the child wrote"
    finally:
        child.kill()
        child.wait()
        announce.close()


@pytest.mark.skipif(os.name != "posix", reason="the announce pipe is POSIX only")
def test_a_sidecar_that_exits_without_a_word_wakes_the_launcher_too_and_later_waits_are_plain_sleeps():
    announce = _sidecar._Announce()
    child = _child_writing(announce.child_fd, "import sys; sys.exit(3)")
    announce.spawned()
    t = time.monotonic()
    announce.wait(20)
    assert time.monotonic() - t < 5
    assert announce.read_fd is None  # end of file seen: the pipe is closed
    child.wait()
    t = time.monotonic()
    announce.wait(0.05)
    assert time.monotonic() - t >= 0.04


def test_the_sidecar_writes_its_listening_line_to_the_launchers_pipe_and_closes_it(sidecar_built, vigilo_data_dir):
    read_fd, write_fd = os.pipe()
    env = {**os.environ, "VIGILO_ANNOUNCE_FD": str(write_fd)}
    proc = subprocess.Popen(
        ["node", str(sidecar_built), "serve", "--port", "0", "--json", "--data-dir", str(vigilo_data_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,), cwd=ROOT,
    )
    os.close(write_fd)
    try:
        chunks = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            readable, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_fd, 65536) if readable else b""
            if not chunk:
                break  # closed by the sidecar (or the deadline)
            chunks += chunk
        line = json.loads(chunks.decode())
        discovery = _sidecar.read_discovery(vigilo_data_dir)
        assert discovery is not None, "announced before sidecar.json was written"
        assert line["event"] == "listening" and line["url"] == discovery["url"] and line["pid"] == proc.pid
        assert "token" not in line
        assert proc.poll() is None, "the sidecar closed the pipe by exiting, not after its line"
        assert _sidecar.probe(discovery)
    finally:
        os.close(read_fd)
        proc.terminate()
        proc.wait(timeout=10)


def _counting_node(directory: Path, version: str) -> "tuple[Path, Path]":
    directory.mkdir(parents=True, exist_ok=True)
    calls = directory / "calls"
    exe = directory / "node"
    exe.write_text(f"#!/bin/sh\necho x >> '{calls}'\necho {version}\n")
    exe.chmod(0o755)
    return exe, calls


def test_node_version_is_asked_once_per_binary_and_mtime_across_processes(tmp_path, monkeypatch):
    exe, calls = _counting_node(tmp_path / "bin", "v24.19.0")
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("VIGILO_NODE", str(exe))
    monkeypatch.setattr(_sidecar, "_versions", {})
    assert _sidecar.find_node(data) == str(exe)
    # A new kernel (an empty in-process cache) reads the answer from the data dir.
    monkeypatch.setattr(_sidecar, "_versions", {})
    assert _sidecar._node_version(str(exe), data) == (24, 19, 0)
    assert calls.read_text().count("x") == 1
    # An upgraded binary (a new mtime) is asked again, and says what it now is.
    exe.write_text(exe.read_text().replace("v24.19.0", "v16.20.2"))
    os.utime(exe, ns=(time.time_ns(), time.time_ns() + 10**9))
    monkeypatch.setattr(_sidecar, "_versions", {})
    with pytest.raises(_sidecar.NodeNotFoundError, match=r"is v16\.20\.2"):
        _sidecar.find_node(data)
    assert calls.read_text().count("x") == 2


def test_a_read_only_or_garbled_version_cache_only_means_asking_again(tmp_path, monkeypatch):
    exe, calls = _counting_node(tmp_path / "bin", "v22.13.0")
    data = tmp_path / "data"
    data.mkdir()
    (data / _sidecar.VERSIONS_FILE).write_text("{not json")
    monkeypatch.setattr(_sidecar, "_versions", {})
    assert _sidecar._node_version(str(exe), data) == (22, 13, 0)
    assert json.loads((data / _sidecar.VERSIONS_FILE).read_text())[os.path.realpath(exe)]["version"] == "v22.13.0"
    monkeypatch.setattr(_sidecar, "_versions", {})
    assert _sidecar._node_version(str(exe), tmp_path / "missing-dir") == (22, 13, 0)
    assert calls.read_text().count("x") == 2


def test_vigilo_sidecar_script_runs_another_build(monkeypatch, tmp_path):
    bundle = tmp_path / "vigilo-sidecar.cjs"
    monkeypatch.setenv("VIGILO_SIDECAR_SCRIPT", str(bundle))
    assert _sidecar.sidecar_script() == bundle
    command = _sidecar.sidecar_command()
    assert command[-3:] == ["-e", "require(process.argv[1]).main(process.argv)", str(bundle)]


def test_an_announce_counts_only_for_the_sidecar_the_discovery_names():
    announce = _sidecar._Announce(pipe=False)
    announce.said = b'{"event": "listening", "pid": 42, "url": "http://127.0.0.1:5000"}\n'
    assert announce.listening({"pid": 42, "url": "http://127.0.0.1:5000", "token": "t"})
    assert not announce.listening({"pid": 43, "url": "http://127.0.0.1:5000", "token": "t"})  # an older sidecar.json
    announce.said = b'{"event": "attached", "pid": 42, "url": "http://127.0.0.1:5000"}\n'
    assert not announce.listening({"pid": 42, "url": "http://127.0.0.1:5000"})
    announce.said = b"garbage"
    assert not announce.listening({"pid": 42, "url": "http://127.0.0.1:5000"})
