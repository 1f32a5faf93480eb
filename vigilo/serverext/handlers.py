"""Tornado handlers: an authenticated proxy from the browser to the sidecar.

The browser never talks to the sidecar: it calls ``<base_url>vigilo/api/...``
on the Jupyter server, which Jupyter's own authentication guards (so remote
JupyterHub users work), and this proxy adds the sidecar's bearer token.
Nothing from the browser request is forwarded but the path, the query (less
any ``token``) and, for POST, the JSON body: no cookies, no headers. The token
is never logged.
"""
from __future__ import annotations

import asyncio
import functools
import json
import re
from typing import Any, Optional
from urllib.parse import parse_qsl, urlencode

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError, HTTPRequest, HTTPResponse
from tornado.iostream import StreamClosedError
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from .. import _sidecar

#: Paths the proxy forwards: letters, digits, ``_ - . /``; no ``..`` segment.
_PATH_RE = re.compile(r"^[A-Za-z0-9_\-./]*$")
#: Largest POST body forwarded; the sidecar enforces its own, smaller limits.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Matches the sidecar's MAX_EVENT_CLIENTS: one upstream connection per open stream.
MAX_STREAMS = 64
#: Streams may run for days; this only bounds one connection's total bytes.
MAX_STREAM_BYTES = 2**40
_STREAM_PATHS = {"events"}
_SETTINGS_KEY = "vigilo"


class _ClientGone(Exception):
    """Raised inside the streaming callback to drop the upstream connection."""


class _State:
    """Per-server state: HTTP clients and the start lock (created once, lazily)."""

    def __init__(self, data_dir: Optional[str]):
        self.data_dir = data_dir
        self._json_client: Optional[SimpleAsyncHTTPClient] = None
        self._stream_client: Optional[SimpleAsyncHTTPClient] = None
        self.start_lock = asyncio.Lock()

    @property
    def json_client(self) -> SimpleAsyncHTTPClient:
        # Own instances: streams must not take the slots of the shared default
        # client (10), and no environment HTTP proxy applies to loopback.
        if self._json_client is None:
            self._json_client = SimpleAsyncHTTPClient(force_instance=True, max_clients=32)
        return self._json_client

    @property
    def stream_client(self) -> SimpleAsyncHTTPClient:
        if self._stream_client is None:
            self._stream_client = SimpleAsyncHTTPClient(
                force_instance=True, max_clients=MAX_STREAMS, max_body_size=MAX_STREAM_BYTES
            )
        return self._stream_client


def _public(discovery: dict) -> dict:
    return {k: v for k, v in discovery.items() if k != "token"}


class _VigiloHandler(APIHandler):
    @property
    def vigilo(self) -> _State:
        return self.settings[_SETTINGS_KEY]

    def _send_error(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": {"code": code, "message": message}}))

    def _not_running(self, discovery: Optional[dict]) -> None:
        """503 saying whether no sidecar ever ran here or the announced one does not answer."""
        help_text = "Start it with the panel's Start Vigilo button, `%vigilo` in a notebook, or `vigilo serve`."
        if discovery is None:
            self._send_error(503, "sidecar_not_running", f"No Vigilo sidecar is running for this Jupyter server. {help_text}")
        elif not _sidecar.pid_alive(discovery.get("pid")):
            self._send_error(
                503,
                "sidecar_not_running",
                f"The Vigilo sidecar (pid {discovery.get('pid')}) is gone. {help_text}",
            )
        else:
            self._send_error(
                503,
                "sidecar_unreachable",
                f"The Vigilo sidecar (pid {discovery.get('pid')}) at {discovery.get('url')} does not answer.",
            )


class ProxyHandler(_VigiloHandler):
    """``/vigilo/api/<path>`` → ``<sidecar url>/<path>`` with the sidecar's token."""

    _client_gone = False

    def on_connection_close(self) -> None:
        self._client_gone = True
        super().on_connection_close()

    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        if path in _STREAM_PATHS:
            await self._stream(path)
        else:
            await self._forward("GET", path)

    @tornado.web.authenticated
    async def post(self, path: str) -> None:
        body = self.request.body or b""
        if len(body) > MAX_BODY_BYTES:
            self._send_error(413, "body_too_large", f"The request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}.")
            return
        await self._forward("POST", path, body)

    @tornado.web.authenticated
    async def put(self, path: str) -> None:
        # PUT /checkpoints/settings and PUT /llm/budgets (the panel's settings).
        body = self.request.body or b""
        if len(body) > MAX_BODY_BYTES:
            self._send_error(413, "body_too_large", f"The request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}.")
            return
        await self._forward("PUT", path, body)

    def _target(self, path: str) -> Optional[tuple[dict, str]]:
        """(discovery, upstream URL), or None after answering with an error."""
        if not _PATH_RE.match(path) or ".." in path.split("/"):
            self._send_error(400, "bad_path", f"Not a sidecar path: {path!r}.")
            return None
        discovery = _sidecar.read_discovery(self.vigilo.data_dir)
        if discovery is None:
            self._not_running(None)
            return None
        # Jupyter's own ?token= authenticates the browser here; it must not
        # reach the sidecar, which reads ?token= as its own.
        query = urlencode([(k, v) for k, v in parse_qsl(self.request.query, keep_blank_values=True) if k != "token"])
        url = f"{str(discovery['url']).rstrip('/')}/{path}" + (f"?{query}" if query else "")
        return discovery, url

    @staticmethod
    def _upstream_headers(discovery: dict, accept: str, json_body: bool = False) -> dict:
        headers = {"Authorization": f"Bearer {discovery['token']}", "Accept": accept}
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    async def _forward(self, method: str, path: str, body: Optional[bytes] = None) -> None:
        target = self._target(path)
        if target is None:
            return
        discovery, url = target
        request = HTTPRequest(
            url,
            method=method,
            headers=self._upstream_headers(discovery, "application/json", json_body=method in ("POST", "PUT")),
            body=body if method in ("POST", "PUT") else None,
            connect_timeout=3.0,
            request_timeout=30.0,
            follow_redirects=False,
            decompress_response=True,
        )
        try:
            # raise_error=False covers HTTP statuses; connection failures still raise.
            response: HTTPResponse = await self.vigilo.json_client.fetch(request, raise_error=False)
        except (OSError, HTTPClientError):
            # Refused, or the sidecar died mid-answer (HTTPStreamClosedError, code 599).
            self._not_running(discovery)
            return
        if response.code == 599:
            self._not_running(discovery)
            return
        self._relay(response.code, response.reason, response.headers.get("Content-Type"), response.body or b"")

    def _relay(self, code: int, reason: Optional[str], content_type: Optional[str], body: bytes) -> None:
        self.set_status(code, reason or "Sidecar response")
        self.set_header("Content-Type", content_type or "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(body)

    def _finish_quietly(self) -> None:
        try:
            self.finish()
        except StreamClosedError:
            pass

    async def _stream(self, path: str) -> None:
        """Relay the sidecar's Server-Sent Events chunk by chunk until either side closes."""
        target = self._target(path)
        if target is None:
            return
        discovery, url = target
        upstream: dict[str, Any] = {"code": None, "reason": None, "content_type": None, "buffer": []}
        state = {"streaming": False}

        def on_header(line: str) -> None:
            if upstream["code"] is None and line.startswith("HTTP/"):
                parts = line.strip().split(" ", 2)
                upstream["code"] = int(parts[1])
                upstream["reason"] = parts[2] if len(parts) > 2 else None
            elif line.lower().startswith("content-type:"):
                upstream["content_type"] = line.split(":", 1)[1].strip()

        def on_chunk(chunk: bytes) -> None:
            if self._client_gone:
                raise _ClientGone()
            if upstream["code"] != 200:
                upstream["buffer"].append(chunk)
                return
            if not state["streaming"]:
                state["streaming"] = True
                self.set_status(200)
                self.set_header("Content-Type", "text/event-stream; charset=utf-8")
                self.set_header("Cache-Control", "no-cache, no-transform")
                self.set_header("X-Accel-Buffering", "no")
            self.write(chunk)
            self.flush().add_done_callback(_consume_stream_closed)

        request = HTTPRequest(
            url,
            method="GET",
            headers=self._upstream_headers(discovery, "text/event-stream"),
            connect_timeout=3.0,
            request_timeout=0,  # no limit: the stream lives as long as the page
            follow_redirects=False,
            header_callback=on_header,
            streaming_callback=on_chunk,
        )
        try:
            response = await self.vigilo.stream_client.fetch(request, raise_error=False)
        except (OSError, HTTPClientError):
            # Refused, or the sidecar died mid-stream (HTTPStreamClosedError): once
            # our headers are out, end the stream quietly; the page reconnects.
            if not state["streaming"]:
                self._not_running(discovery)
            elif not self._client_gone:
                self._finish_quietly()
            return
        if self._client_gone:
            return
        if state["streaming"]:
            # The sidecar closed the stream (it stopped): end ours; the page reconnects.
            self._finish_quietly()
            return
        if response.code == 599 and upstream["code"] is None:
            self._not_running(discovery)
            return
        self._relay(
            upstream["code"] or response.code,
            upstream["reason"] or response.reason,
            upstream["content_type"],
            b"".join(upstream["buffer"]),
        )


def _consume_stream_closed(future: "asyncio.Future[None]") -> None:
    """A flush to a browser that left fails with StreamClosedError: expected, and
    on_connection_close ends the relay; retrieve it so asyncio does not log it."""
    if not future.cancelled():
        future.exception()


class StartHandler(_VigiloHandler):
    """``POST /vigilo/start``: launch the sidecar detached, or attach to the live one."""

    @tornado.web.authenticated
    async def post(self) -> None:
        loop = asyncio.get_running_loop()
        async with self.vigilo.start_lock:
            try:
                # ensure_running blocks (subprocess, polling the discovery file): keep it off the IOLoop.
                discovery = await loop.run_in_executor(
                    None, functools.partial(_sidecar.ensure_running, self.vigilo.data_dir)
                )
            except _sidecar.NodeNotFoundError as err:
                self._send_error(503, "node_not_found", str(err))
                return
            except _sidecar.SidecarStartError as err:
                self._send_error(500, "sidecar_start_failed", str(err))
                return
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"ok": True, "sidecar": _public(discovery)}))


def setup_handlers(web_app: tornado.web.Application, data_dir: Optional[str] = None) -> None:
    """Add the routes under base_url. Idempotent: a second call adds nothing."""
    if _SETTINGS_KEY in web_app.settings:
        return
    web_app.settings[_SETTINGS_KEY] = _State(data_dir)
    base_url = web_app.settings.get("base_url", "/")
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base_url, "vigilo", "api", "(.*)"), ProxyHandler),
            (url_path_join(base_url, "vigilo", "start"), StartHandler),
        ],
    )
