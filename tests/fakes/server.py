"""A tiny HTTP server on 127.0.0.1:<free port> whose answers a Python function decides.

Only request bodies are recorded, never headers (they carry API keys).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Optional, Union
from urllib.parse import parse_qs, urlsplit


class Reply:
    """A status, a content type, and a body: bytes, a JSON-able value, or SSE frames (an iterable of str)."""

    def __init__(self, status: int = 200, body: Any = None, *, sse: Optional[Iterable[str]] = None, headers: Optional[dict] = None):
        self.status = status
        self.body = body
        self.sse = sse
        self.headers = headers or {}


class Request:
    def __init__(self, method: str, path: str, query: "dict[str, list[str]]", body: Any, authorization_ok: Optional[bool]):
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.authorization_ok = authorization_ok


class LoopbackServer:
    def __init__(self, route: Callable[[Request], Reply], expected_token: Optional[str] = None):
        self.route = route
        self.expected_token = expected_token
        self.requests: "list[Request]" = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                parts = urlsplit(self.path)
                auth_ok = None
                if server.expected_token is not None:
                    auth_ok = self.headers.get("Authorization") == f"Bearer {server.expected_token}"
                request = Request(self.command, parts.path, parse_qs(parts.query), body, auth_ok)
                with server._lock:
                    server.requests.append(request)
                reply = server.route(request)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                # A reply may name its content type; else it is the one its kind of body has.
                ctype = reply.headers.get("Content-Type")
                extra = [(key, value) for key, value in reply.headers.items() if key != "Content-Type"]
                if reply.sse is not None:
                    # `sse` frames are written as they come (chunked).
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype or "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Transfer-Encoding", "chunked")
                    for key, value in extra:
                        self.send_header(key, value)
                    self.end_headers()
                    for frame in reply.sse:
                        data = frame.encode("utf-8")
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if isinstance(reply.body, bytes):
                    data, default = reply.body, "application/octet-stream"
                else:
                    data, default = json.dumps(reply.body).encode("utf-8"), "application/json"
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype or default)
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra:
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _handle
            do_POST = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"fake-{self.port}", daemon=True)

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeProvider:
    """What the provider fakes share: a loopback server, and failures a test queues with ``fail_next``.

    ``route`` answers the next queued failure with ``failure(status)``, anything else with ``answer(request)``.
    """

    #: the path below the server's root that the SDK's base_url names
    base_path = ""

    def __init__(self) -> None:
        self.failures: "list[int]" = []
        self.server = LoopbackServer(self.route)

    @property
    def base_url(self) -> str:
        return self.server.url + self.base_path

    def fail_next(self, status: int) -> None:
        self.failures.append(status)

    def route(self, request: Request) -> Reply:
        if self.failures:
            return self.failure(self.failures.pop(0))
        return self.answer(request)

    def failure(self, status: int) -> Reply:
        raise NotImplementedError

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError


def sse(data: Union[dict, str], event: Optional[str] = None, sep: str = "\n") -> str:
    """One server-sent event frame."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}{sep}" if event else ""
    return f"{head}data: {payload}{sep}{sep}"
