"""What the export tests share: the real servers (Arize Phoenix, Prometheus) on
loopback, a relay that takes a receiver down and brings it back, a loopback
OTLP/JSON receiver, a real sidecar started with a given environment, and the
stand-in nvidia-smi replaying a real capture (test/fixtures/nvidia-smi).

Every server a test starts, the test stops; all of them listen on 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from vigilo import _sidecar

ROOT = Path(__file__).resolve().parent.parent
PHOENIX = ROOT / ".venv-phoenix" / "bin" / "phoenix"
PROMETHEUS = Path("/usr/bin/prometheus")
FAKE_SMI = ROOT / "test" / "fixtures" / "nvidia-smi" / "fake-nvidia-smi.mjs"
GPUS = json.loads((ROOT / "test" / "fixtures" / "nvidia-smi" / "gpus.json").read_text())
# Loopback only: no proxy from the environment between a test and its servers.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something true (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = check()
        except Exception as err:  # noqa: BLE001 - a server still starting refuses or answers 5xx
            value, last = None, err
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last error: {last})")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: Any = None, headers: "Optional[dict[str, str]]" = None, timeout: float = 10.0) -> "tuple[int, Any]":
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            raw, status, ctype = resp.read(), resp.status, resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        raw, status, ctype = err.read(), err.code, err.headers.get("Content-Type", "")
    return status, (json.loads(raw) if "json" in ctype and raw else raw.decode("utf-8", "replace"))


class Server:
    """A child process we started: its log file, and stop() that ends it (and only it)."""

    def __init__(self, args: "list[str]", env: "dict[str, str]", log: Path, cwd: Optional[Path] = None) -> None:
        self.log = log
        self._log_fh = open(log, "wb")
        self.proc = subprocess.Popen(args, env=env, stdout=self._log_fh, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log_fh.close()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def start_phoenix(workdir: Path, port: int) -> Server:
    """`phoenix serve` on 127.0.0.1:port, state in `workdir`, its own telemetry off (no network needed)."""
    if not PHOENIX.exists():
        raise AssertionError(f"{PHOENIX} is missing: run ./scripts/setup.sh (it installs arize-phoenix into .venv-phoenix)")
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "NO_PROXY": "*",
    }
    server = Server([str(PHOENIX), "serve"], env, workdir / "phoenix.log")
    try:
        until(lambda: http("GET", f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200, "Phoenix to answer /healthz", timeout=180)
    except AssertionError:
        server.stop()
        raise AssertionError(f"Phoenix did not start:\n{server.tail()}") from None
    return server


class TcpRelay:
    """127.0.0.1:port → target. `down()` closes the port (connections refused), `up()` opens it again."""

    def __init__(self, target_port: int, port: Optional[int] = None) -> None:
        self.target = target_port
        self.port = port or free_port()
        self._listener: Optional[socket.socket] = None
        self._conns: "list[socket.socket]" = []

    def up(self) -> "TcpRelay":
        if self._listener is None:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", self.port))
            s.listen(64)
            self._listener = s
            threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        return self

    def down(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, with a Content-Length or chunked (Node's http client sends either)."""
    if handler.headers.get("Transfer-Encoding", "").lower() != "chunked":
        return handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
    out = b""
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            handler.rfile.readline()
            return out
        out += handler.rfile.read(size)
        handler.rfile.readline()


class OtlpJsonReceiver:
    """A loopback OTLP/HTTP receiver for the http/json protocol: keeps every request body by path."""

    def __init__(self) -> None:
        received: "dict[str, list[dict]]" = {"/v1/traces": [], "/v1/metrics": []}
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                received.setdefault(self.path, []).append(json.loads(read_body(self)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def gpu_env(tmp: Path, fixture: str = "h100-load") -> "dict[str, str]":
    """VIGILO_NVIDIA_SMI = the stand-in that replays the real capture `fixture` (gpus.json, sources cited there)."""
    scenario = tmp / "smi-scenario.json"
    scenario.write_text(json.dumps({"gpus": [{"fixture": fixture}]}))
    return {"VIGILO_NVIDIA_SMI": str(FAKE_SMI), "FAKE_SMI_SCENARIO": str(scenario)}


def captured_gpu(fixture: str = "h100-load") -> "list[str]":
    """The captured row the stand-in replays: index, uuid, name, memory.total, memory.used, ..."""
    return GPUS[fixture]["gpus"][0]


@pytest.fixture
def start_sidecar(monkeypatch):
    """start(data_dir, env): a real sidecar (this checkout's dist/) in `data_dir`, started with `env` added to
    ours (OTEL_* of the outer environment removed); every one started is stopped after the test."""
    started: "list[Path]" = []

    def start(data_dir: Path, env: "dict[str, str]") -> dict:
        for key in [k for k in os.environ if k.startswith("OTEL_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("VIGILO_DATA_DIR", str(data_dir))
        started.append(data_dir)
        return _sidecar.ensure_running(data_dir)

    yield start
    for data_dir in started:
        _sidecar.stop(data_dir)


def sidecar(discovery: dict, method: str, path: str, body: Any = None) -> Any:
    status, answer = _sidecar.request(discovery, method, path, body)
    assert status < 400, (status, answer)
    return answer


def llm_event(i: int, conversation: str, started_at: str = "2026-12-05T10:00:00.000Z") -> dict:
    """One call event as the wrappers send it (OpenAI chat, usage as the API reports it)."""
    return {
        "id": f"evt-{conversation}-{i}",
        "provider": "openai",
        "operation": "chat.completions",
        "requestModel": "gpt-4o-mini",
        "responseModel": "gpt-4o-mini-2024-07-18",
        "startedAt": started_at,
        "ttftMs": None,
        "latencyMs": 850,
        "stream": False,
        "status": "ok",
        "error": None,
        "usage": {"prompt_tokens": 1200, "completion_tokens": 4, "total_tokens": 1204, "prompt_tokens_details": {"cached_tokens": 1024}},
        "usageEstimated": False,
        "conversationId": conversation,
        "fingerprint": None,
        "tags": {},
        "messages": [{"role": "user", "content": f"private prompt {i}"}],
        "output": "private answer",
        "sdk": {"language": "python", "name": "openai", "version": "1"},
    }
