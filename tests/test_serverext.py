"""The Jupyter server extension: an authenticated proxy from the browser to the sidecar.

Every test runs a real Jupyter server (pytest-jupyter, base_url ``/a%40b/``)
with the extension loaded, and, where a sidecar is needed, a real one
(``node bin/vigilo.js serve``) in a private VIGILO_DATA_DIR.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httpserver import HTTPServer

from vigilo import _sidecar

pytest_plugins = ("pytest_jupyter.jupyter_server",)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {
            "jpserver_extensions": {"vigilo": True},
            # Every endpoint must require authentication.
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def sidecar(vigilo_data_dir, sidecar_built):
    """A real sidecar for this test's data dir, sampling fast; stopped afterwards."""
    proc = subprocess.Popen(
        [
            "node",
            str(sidecar_built),
            "serve",
            "--port",
            "0",
            "--json",
            "--interval",
            "200",
            "--data-dir",
            str(vigilo_data_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = json.loads(proc.stdout.readline())
        assert line["event"] == "listening", line
        discovery = _sidecar.read_discovery(vigilo_data_dir)
        assert discovery is not None and discovery["pid"] == proc.pid
        yield discovery
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def _error(excinfo) -> dict:
    return json.loads(excinfo.value.response.body)["error"]


def _fake_sidecar(data_dir: Path, app: tornado.web.Application, token: str, server_class=HTTPServer):
    """A tornado app on a free loopback port, announced in ``data_dir/sidecar.json`` under
    this process's pid (the test removes the file: the data-dir fixture must not SIGTERM us)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    server = server_class(app)
    server.add_sockets([sock])
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "sidecar.json").write_text(
        json.dumps({"url": f"http://127.0.0.1:{port}", "port": port, "pid": os.getpid(), "token": token})
    )
    return server, port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_proxy_forwards_requests_to_the_sidecar_with_its_token(jp_fetch, sidecar, jp_serverapp):
    response = await jp_fetch("vigilo", "api", "status")
    assert response.code == 200
    status = json.loads(response.body)
    assert status["name"] == "vigilo" and status["pid"] == sidecar["pid"]

    # Jupyter's own ?token= authenticates the browser but never reaches the sidecar.
    jupyter_token = jp_serverapp.identity_provider.token
    response = await jp_fetch("vigilo", "api", "metrics", headers={"Authorization": ""}, params={"token": jupyter_token})
    assert json.loads(response.body)["sidecar"]["pid"] == sidecar["pid"]

    # POST bodies are forwarded; the sidecar's answers, errors included, come back as they are.
    beat = {"kernelId": "k-proxy", "pid": os.getpid(), "startedAt": "2026-01-01T00:00:00Z"}
    response = await jp_fetch("vigilo", "api", "kernels", "heartbeat", method="POST", body=json.dumps(beat))
    assert json.loads(response.body)["ok"] is True
    tasks = json.loads((await jp_fetch("vigilo", "api", "tasks")).body)["tasks"]
    assert any(t.get("kernelId") == "k-proxy" for t in tasks)

    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("vigilo", "api", "kernels", "heartbeat", method="POST", body="{not json")
    assert excinfo.value.code == 400
    assert "JSON" in _error(excinfo)["message"]

    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("vigilo", "api", "no-such-route")
    assert excinfo.value.code == 404

    # PUT too (the panel's settings): the new budget is what the sidecar then reports.
    response = await jp_fetch("vigilo", "api", "llm", "budgets", method="PUT", body=json.dumps({"dayUsd": 7.5}))
    assert response.code == 200
    budgets = json.loads((await jp_fetch("vigilo", "api", "llm", "budgets")).body)
    assert budgets["limits"]["dayUsd"] == 7.5


async def test_proxy_sends_only_the_sidecar_token_never_the_browser_headers(jp_fetch, vigilo_data_dir):
    """Against a recording upstream: no cookie, no browser header, only the bearer token."""
    seen: list[dict] = []

    class Recorder(tornado.web.RequestHandler):
        def get(self, path):
            seen.append({"path": path, "query": self.request.query, "headers": dict(self.request.headers)})
            self.write({"ok": True})

    server, port = _fake_sidecar(vigilo_data_dir, tornado.web.Application([(r"/(.*)", Recorder)]), "sidecar-secret")
    try:
        response = await jp_fetch(
            "vigilo",
            "api",
            "metrics",
            params={"window": "5m"},
            headers={"Cookie": "session=browser-cookie", "X-Custom": "browser"},
        )
        assert json.loads(response.body) == {"ok": True}
    finally:
        server.stop()
        # It names this very process: the data-dir fixture must not SIGTERM it.
        (vigilo_data_dir / "sidecar.json").unlink()
    assert len(seen) == 1
    request = seen[0]
    assert request["path"] == "metrics" and request["query"] == "window=5m"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == "Bearer sidecar-secret"
    assert "cookie" not in headers and "x-custom" not in headers
    assert headers["host"] == f"127.0.0.1:{port}"


async def test_proxy_rejects_requests_without_jupyter_authentication(jp_fetch, sidecar, vigilo_data_dir):
    for parts, method, body in (
        (("vigilo", "api", "status"), "GET", None),
        (("vigilo", "api", "events"), "GET", None),
        (("vigilo", "api", "kernels", "heartbeat"), "POST", "{}"),
        (("vigilo", "start"), "POST", "{}"),
    ):
        with pytest.raises(HTTPClientError) as excinfo:
            await jp_fetch(*parts, method=method, body=body, headers={"Authorization": "token not-the-token"})
        assert excinfo.value.code in (401, 403), parts


async def test_proxy_answers_503_with_a_reason_when_no_sidecar_answers(jp_fetch, vigilo_data_dir):
    # No discovery file at all.
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("vigilo", "api", "metrics")
    assert excinfo.value.code == 503
    error = _error(excinfo)
    assert error["code"] == "sidecar_not_running" and "%vigilo" in error["message"]

    # The stream says the same, rather than hanging.
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("vigilo", "api", "events")
    assert excinfo.value.code == 503 and _error(excinfo)["code"] == "sidecar_not_running"

    # A stale file whose pid is gone (a killed sidecar).
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    vigilo_data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (vigilo_data_dir / "sidecar.json").write_text(
        json.dumps({"url": f"http://127.0.0.1:{port}", "port": port, "pid": dead.pid, "token": "t"})
    )
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("vigilo", "api", "status")
    assert excinfo.value.code == 503
    assert _error(excinfo)["code"] == "sidecar_not_running" and "is gone" in _error(excinfo)["message"]

    # A live pid that does not answer on its port.
    (vigilo_data_dir / "sidecar.json").write_text(
        json.dumps({"url": f"http://127.0.0.1:{port}", "port": port, "pid": os.getpid(), "token": "t"})
    )
    try:
        with pytest.raises(HTTPClientError) as excinfo:
            await jp_fetch("vigilo", "api", "status")
        assert excinfo.value.code == 503 and _error(excinfo)["code"] == "sidecar_unreachable"
    finally:
        # It names this very process: the data-dir fixture must not SIGTERM it.
        (vigilo_data_dir / "sidecar.json").unlink()


async def test_proxy_refuses_paths_that_leave_the_sidecar_api(jp_fetch, sidecar):
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("vigilo", "api", "a b")
    assert excinfo.value.code == 400 and _error(excinfo)["code"] == "bad_path"


# `http_server_client` is requested for its side effect: the Jupyter server listening on jp_http_port.
async def _read_events(url: str, headers: dict, until: str, limit: int = 200_000) -> str:
    """Read an SSE stream until `until` appears, then hang up like a closing browser tab."""
    received: list[bytes] = []
    enough = []

    def on_chunk(chunk: bytes) -> None:
        received.append(chunk)
        text = b"".join(received).decode("utf-8", "replace")
        if until in text or len(text) > limit:
            enough.append(True)
            raise ConnectionAbortedError("test client hangs up")

    client = AsyncHTTPClient(force_instance=True)
    try:
        await client.fetch(HTTPRequest(url, headers=headers, streaming_callback=on_chunk, request_timeout=20))
    except Exception:
        # Hanging up surfaces as the callback's error or as "connection closed".
        if not enough:
            raise
    finally:
        client.close()
    return b"".join(received).decode("utf-8", "replace")


async def test_events_stream_relays_hello_then_a_snapshot(http_server_client, jp_http_port, jp_base_url, jp_auth_header, sidecar):
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}vigilo/api/events"
    text = await _read_events(url, jp_auth_header, "event: snapshot")
    assert text.startswith("id: 1\nevent: hello\n")
    hello = json.loads(text.split("event: hello\ndata: ", 1)[1].split("\n", 1)[0])
    assert hello["pid"] == sidecar["pid"] and hello["apiVersion"] == 1
    assert "event: snapshot\ndata: " in text


async def test_events_stream_lets_go_of_the_sidecar_when_the_browser_leaves(
    http_server_client, jp_http_port, jp_base_url, jp_auth_header, sidecar
):
    """The sidecar serves at most 64 streams: 70 opened and abandoned one after
    another all succeed only if the proxy closes each upstream connection."""
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}vigilo/api/events"
    for i in range(70):
        text = await _read_events(url, jp_auth_header, "event: snapshot")
        assert "event: snapshot" in text, f"stream {i}: {text[:200]}"


async def test_start_launches_the_sidecar_and_never_returns_its_token(jp_fetch, vigilo_data_dir, sidecar_built):
    with pytest.raises(HTTPClientError):
        await jp_fetch("vigilo", "api", "status")
    response = await jp_fetch("vigilo", "start", method="POST", body="{}")
    started = json.loads(response.body)
    assert started["ok"] is True and "token" not in started["sidecar"]
    discovery = _sidecar.read_discovery(vigilo_data_dir)
    assert discovery is not None and discovery["pid"] == started["sidecar"]["pid"]
    assert discovery["token"] not in response.body.decode()
    status = json.loads((await jp_fetch("vigilo", "api", "status")).body)
    assert status["pid"] == discovery["pid"]

    # A second start attaches to the running one.
    again = json.loads((await jp_fetch("vigilo", "start", method="POST", body="{}")).body)
    assert again["sidecar"]["pid"] == discovery["pid"]


def test_every_extension_endpoint_requires_authentication(recwarn, jp_serverapp):
    """Jupyter Server warns about handlers without an authentication decorator
    (as the extension template's check_auth script does); none may be ours."""
    from jupyter_server.utils import JupyterServerAuthWarning

    problems = [str(w.message) for w in recwarn if issubclass(w.category, JupyterServerAuthWarning)]
    assert not [p for p in problems if "vigilo" in p.lower()], problems


@pytest.fixture
def server_log(jp_serverapp, caplog):
    """Every record of the Jupyter server's log and of tornado's, from INFO up."""
    import logging

    log = jp_serverapp.log
    # A traitlets application's log does not propagate outside pytest-jupyter: catch it either way.
    attach = not log.propagate
    if attach:
        log.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    old_level = log.level
    log.setLevel(logging.INFO)
    yield caplog
    if attach:
        log.removeHandler(caplog.handler)
    log.setLevel(old_level)


def _quiet(records, start: int = 0) -> "list[str]":
    """The records after `start` a user would call noise: warnings and errors, tracebacks, request headers."""
    noisy = []
    for r in records[start:]:
        text = r.getMessage()
        if r.levelno >= 30 or r.exc_info or "User-Agent" in text or '"Host"' in text:
            noisy.append(f"{r.levelname} {r.name}: {text[:200]}")
    return noisy


async def test_an_absent_sidecar_is_one_info_line_in_the_jupyter_log(jp_fetch, vigilo_data_dir, server_log):
    start = len(server_log.records)
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("vigilo", "api", "metrics", headers={"User-Agent": "browser-agent-canary"})
    assert excinfo.value.code == 503
    records = server_log.records[start:]
    assert not _quiet(records), _quiet(records)
    ours = [r for r in records if "vigilo" in r.getMessage() and "503" in r.getMessage()]
    assert len(ours) == 1 and ours[0].levelname == "INFO", [r.getMessage() for r in records]
    assert "No Vigilo sidecar is running" in ours[0].getMessage()
    assert "browser-agent-canary" not in server_log.text


async def _raw_tab_until_snapshot(port: int, base_url: str, auth_header: dict):
    """A browser tab as a raw socket on /vigilo/api/events, read up to its first snapshot."""
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = "".join(f"{k}: {v}\r\n" for k, v in auth_header.items())
    writer.write(f"GET {base_url}vigilo/api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode())
    received = b""
    while b"event: snapshot" not in received:
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        assert chunk, received
        received += chunk
    return reader, writer, received


async def test_a_closed_browser_tab_is_one_info_line_in_the_jupyter_log(
    http_server_client, jp_http_port, jp_base_url, jp_auth_header, sidecar, server_log
):
    import asyncio

    start = len(server_log.records)
    for _ in range(3):
        # A tab as a raw socket: read up to the first snapshot, then close (no client-side logging).
        _, writer, _ = await _raw_tab_until_snapshot(jp_http_port, jp_base_url, jp_auth_header)
        writer.close()
        await writer.wait_closed()
    # The proxy notices each hang-up on its next write to that tab: at the next snapshot (0.2 s here).
    for _ in range(100):
        closed = [r for r in server_log.records[start:] if "closed by the browser" in r.getMessage()]
        if len(closed) == 3:
            break
        await asyncio.sleep(0.05)
    assert len(closed) == 3 and all(r.levelname == "INFO" for r in closed), [r.getMessage() for r in server_log.records[start:]]
    assert not _quiet(server_log.records, start), _quiet(server_log.records, start)


async def test_the_proxy_reuses_one_connection_to_the_sidecar_and_rereads_sidecar_json_only_when_it_changes(
    jp_fetch, vigilo_data_dir, monkeypatch
):
    """Against a recording upstream that counts its TCP connections: 20 sequential
    requests travel over one kept-alive connection; a new sidecar.json is followed."""
    connections: list[int] = []

    class Counting(HTTPServer):
        def handle_stream(self, stream, address):
            connections.append(self.port)
            return super().handle_stream(stream, address)

    class Hello(tornado.web.RequestHandler):
        def get(self):
            self.write({"port": self.application.settings["port"]})

    servers = []

    def serve() -> int:
        app = tornado.web.Application([(r"/metrics", Hello)])
        server, port = _fake_sidecar(vigilo_data_dir, app, f"t{len(servers)}", server_class=Counting)
        app.settings["port"] = server.port = port
        servers.append(server)
        return port

    reads = []
    real_read = _sidecar.read_discovery
    monkeypatch.setattr(_sidecar, "read_discovery", lambda *a, **k: reads.append(1) or real_read(*a, **k))
    try:
        first = serve()
        for _ in range(20):
            assert json.loads((await jp_fetch("vigilo", "api", "metrics")).body) == {"port": first}
        assert connections == [first] and len(reads) == 1
        second = serve()  # a restarted sidecar: new port, new file
        assert json.loads((await jp_fetch("vigilo", "api", "metrics")).body) == {"port": second}
        assert connections == [first, second] and len(reads) == 2
    finally:
        for server in servers:
            server.stop()
        # It names this very process: the data-dir fixture must not SIGTERM it.
        (vigilo_data_dir / "sidecar.json").unlink()


async def test_a_sidecar_that_stops_ends_the_event_stream_quietly(
    http_server_client, jp_http_port, jp_base_url, jp_auth_header, sidecar, server_log
):
    """The tab sees its stream end (and reconnects); the Jupyter log has one info line."""
    import asyncio
    import signal

    start = len(server_log.records)
    reader, writer, received = await _raw_tab_until_snapshot(jp_http_port, jp_base_url, jp_auth_header)
    os.kill(sidecar["pid"], signal.SIGTERM)
    # The proxied response ends: the chunked terminator, or the connection closes.
    while not received.endswith(b"0\r\n\r\n"):
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        if not chunk:
            break
        received += chunk
    writer.close()
    await writer.wait_closed()
    for _ in range(100):
        ended = [r for r in server_log.records[start:] if "ended by the sidecar" in r.getMessage()]
        if ended:
            break
        await asyncio.sleep(0.05)
    assert len(ended) == 1 and ended[0].levelname == "INFO", [r.getMessage() for r in server_log.records[start:]]
    assert not _quiet(server_log.records, start), _quiet(server_log.records, start)
