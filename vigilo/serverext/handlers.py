"""Tornado handlers: an authenticated proxy from the browser to the sidecar.

The browser never talks to the sidecar: it calls ``<base_url>vigilo/api/...``
on the Jupyter server, which Jupyter's own authentication guards (so remote
JupyterHub users work), and this proxy adds the sidecar's bearer token.
Nothing from the browser request is forwarded but the path, the query (less
any ``token``) and, for POST, the JSON body: no cookies, no headers. The token
is never logged.

Cost per request (docs/BENCHMARKS.md, bench/proxy.mjs): the proxy keeps
HTTP/1.1 connections to the sidecar alive and reuses them (tornado's own HTTP
clients open one connection per request: its simple client sends
``Connection: close``, and curl is not installed by default), connects to the
literal loopback address of ``sidecar.json`` (no resolver thread), and reads
``sidecar.json`` again only when its mtime, size or inode changed. The pool is
a few lines on top of tornado's ``HTTP1Connection``, which tornado's simple
client also uses; idle connections are dropped after 4 s, before the
sidecar's 5 s keep-alive timeout, or as soon as the sidecar closes them.

Logs: an absent sidecar (our 503) and a browser tab that closes its event
stream are one info line each, without traceback or request headers; a 5xx
relayed from the sidecar is one warning line.
"""
from __future__ import annotations

import asyncio
import datetime
import functools
import ipaddress
import json
import logging
import os
import re
import socket
import time
from typing import Any, Awaitable, Callable, NamedTuple, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import gen
from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.httputil import HTTPHeaders, HTTPMessageDelegate, RequestStartLine, ResponseStartLine
from tornado.iostream import IOStream, StreamClosedError

from .. import _sidecar

#: Paths the proxy forwards: letters, digits, ``_ - . /``; no ``..`` segment.
_PATH_RE = re.compile(r"^[A-Za-z0-9_\-./]*$")
#: Largest POST body forwarded; the sidecar enforces its own, smaller limits.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Largest JSON answer relayed (tornado's own client default).
MAX_ANSWER_BYTES = 100 * 1024 * 1024
#: Streams may run for days; this only bounds one connection's total bytes.
MAX_STREAM_BYTES = 2**40
CONNECT_TIMEOUT_S = 3.0
ANSWER_TIMEOUT_S = 30.0
#: Idle kept-alive connections: at most this many, each for at most IDLE_S
#: (the sidecar closes idle ones after 5 s: server.keepAliveTimeout).
MAX_IDLE = 64
IDLE_S = 4.0
_STREAM_PATHS = {"events"}
_SETTINGS_KEY = "vigilo"


class _Unreachable(Exception):
    """No answer from the sidecar: refused, reset, or timed out before its status line."""


class _Target(NamedTuple):
    """What one sidecar.json says, ready to use: the token stays inside ``discovery``."""

    discovery: dict
    family: int
    address: "tuple[str, int]"
    host: str  # the Host header the sidecar checks
    auth: str


def _target_of(discovery: dict) -> Optional[_Target]:
    """The literal loopback address to connect to (no name resolution), or None
    when the file names anything but a loopback address."""
    try:
        parts = urlsplit(str(discovery["url"]))
        port = int(discovery.get("port") or parts.port)
        ip = ipaddress.ip_address("127.0.0.1" if parts.hostname == "localhost" else parts.hostname or "")
    except (TypeError, ValueError):
        return None
    if not ip.is_loopback:
        return None  # the sidecar only ever listens on loopback; never proxy elsewhere
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    host = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    return _Target(discovery, family, (str(ip), port), host, f"Bearer {discovery['token']}")


class _Upstream:
    """HTTP/1.1 exchanges with the sidecar over kept-alive connections."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle: "list[tuple[tuple[str, int], float, IOStream]]" = []
        self._clock = clock

    def _take(self, address: "tuple[str, int]") -> Optional[IOStream]:
        now = self._clock()
        while self._idle:
            where, since, stream = self._idle.pop()  # the most recently used: the warmest
            if where == address and now - since < IDLE_S and not stream.closed():
                stream.set_close_callback(None)
                return stream
            stream.close()  # too old, closed by the sidecar, or a sidecar that moved
        return None

    def _keep(self, address: "tuple[str, int]", stream: IOStream) -> None:
        if stream.closed() or len(self._idle) >= MAX_IDLE:
            stream.close()
            return
        entry = (address, self._clock(), stream)
        self._idle.append(entry)
        # Watching for the close while idle makes the stream listen for it: a
        # connection the sidecar ends is dropped here, never reused.
        stream.set_close_callback(functools.partial(self._forget, entry))

    def _forget(self, entry: Any) -> None:
        try:
            self._idle.remove(entry)
        except ValueError:
            pass

    async def _connect(self, target: _Target) -> IOStream:
        stream = IOStream(socket.socket(target.family, socket.SOCK_STREAM))
        try:
            await gen.with_timeout(datetime.timedelta(seconds=CONNECT_TIMEOUT_S), stream.connect(target.address))
        except BaseException:
            stream.close()
            raise
        stream.set_nodelay(True)
        return stream

    async def exchange(
        self,
        target: _Target,
        method: str,
        path: str,
        accept: str,
        body: Optional[bytes],
        delegate: "_Answer",
        *,
        stream_answer: bool = False,
        on_stream: Optional[Callable[[IOStream], None]] = None,
    ) -> bool:
        """Send one request and feed the answer to ``delegate``. True when the answer
        came whole; _Unreachable when no status line came at all."""
        headers = HTTPHeaders({"Host": target.host, "Authorization": target.auth, "Accept": accept})
        if body is not None:
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(body))
        params = HTTP1ConnectionParameters(
            max_body_size=MAX_STREAM_BYTES if stream_answer else MAX_ANSWER_BYTES,
            header_timeout=None if stream_answer else ANSWER_TIMEOUT_S,
            body_timeout=None if stream_answer else ANSWER_TIMEOUT_S,
        )
        for attempt in range(2):
            stream = None if stream_answer or attempt else self._take(target.address)
            reused = stream is not None
            if stream is None:
                try:
                    stream = await self._connect(target)
                except (OSError, StreamClosedError, gen.TimeoutError) as err:
                    raise _Unreachable(str(err)) from None
            if on_stream is not None:
                on_stream(stream)
            conn = HTTP1Connection(stream, True, params)
            complete = False
            try:
                conn.write_headers(RequestStartLine(method, path, "HTTP/1.1"), headers, body).add_done_callback(_retrieve)
                conn.finish()
                complete = await conn.read_response(delegate)
            except StreamClosedError:
                pass
            if delegate.start is None:
                stream.close()
                if reused and method == "GET":
                    continue  # the sidecar closed a kept-alive connection as we reused it: once more, fresh
                raise _Unreachable("no answer")
            if complete and not stream_answer and delegate.reusable():
                self._keep(target.address, stream)
            else:
                stream.close()
            return complete
        raise _Unreachable("no answer")  # pragma: no cover - the loop returns or raises


def _retrieve(future: "asyncio.Future[Any]") -> None:
    """A write to a connection that closed fails with StreamClosedError: expected, and
    the read that follows says so; retrieve it so asyncio does not log it."""
    if not future.cancelled():
        future.exception()


class _Answer(HTTPMessageDelegate):
    """The sidecar's answer, collected whole."""

    def __init__(self) -> None:
        self.start: Optional[ResponseStartLine] = None
        self.headers: Optional[HTTPHeaders] = None
        self.chunks: "list[bytes]" = []

    def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
        self.start = start_line
        self.headers = headers

    def data_received(self, chunk: bytes) -> Optional[Awaitable[None]]:
        self.chunks.append(chunk)
        return None

    def reusable(self) -> bool:
        """Whether the connection may carry the next request (HTTP/1.1, not closed, body delimited)."""
        assert self.start is not None and self.headers is not None
        return (
            self.start.version == "HTTP/1.1"
            and self.headers.get("Connection", "").lower() != "close"
            and ("Content-Length" in self.headers or self.headers.get("Transfer-Encoding", "").lower() == "chunked")
        )


class _StreamAnswer(_Answer):
    """An event stream: a 200 is relayed to the browser chunk by chunk as it comes,
    each chunk flushed before the next is read (a slow browser slows the read, it
    does not grow a buffer here); any other answer is collected and relayed whole."""

    def __init__(self, handler: "ProxyHandler") -> None:
        super().__init__()
        self.handler = handler
        self.streaming = False

    def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
        super().headers_received(start_line, headers)
        if start_line.code == 200:
            self.streaming = True
            h = self.handler
            h.set_status(200)
            h.set_header("Content-Type", "text/event-stream; charset=utf-8")
            h.set_header("Cache-Control", "no-cache, no-transform")
            h.set_header("X-Accel-Buffering", "no")

    def data_received(self, chunk: bytes) -> Optional[Awaitable[None]]:
        if not self.streaming:
            return super().data_received(chunk)
        return self._relay(chunk)

    async def _relay(self, chunk: bytes) -> None:
        h = self.handler
        if h.client_gone:
            return
        h.write(chunk)
        try:
            await h.flush()
        except StreamClosedError:
            h.browser_left()  # end the upstream read too


class _State:
    """Per-server state: the upstream connections, the discovery cache and the start lock."""

    def __init__(self, data_dir: Optional[str]):
        self.data_dir = data_dir
        self.upstream = _Upstream()
        self.start_lock = asyncio.Lock()
        self._cached: "tuple[Any, Optional[dict], Optional[_Target]]" = (None, None, None)
        self._path: "tuple[Any, str]" = (object(), "")

    def _discovery_path(self) -> str:
        """``<data dir>/sidecar.json``, built again only when the variables that choose the dir change."""
        env = (os.environ.get("VIGILO_DATA_DIR"), os.environ.get("XDG_DATA_HOME"))
        if self._path[0] != env:
            self._path = (env, str(_sidecar._dir(self.data_dir) / _sidecar.DISCOVERY_FILE))
        return self._path[1]

    def target(self) -> "tuple[Optional[dict], Optional[_Target]]":
        """(discovery, target) from sidecar.json, parsed again only when the file changed
        (mtime, size or inode: the sidecar replaces it whole when it starts)."""
        path = self._discovery_path()
        try:
            st = os.stat(path)
        except OSError:
            return None, None
        key = (path, st.st_mtime_ns, st.st_size, st.st_ino)
        if self._cached[0] != key:
            discovery = _sidecar.read_discovery(os.path.dirname(path))
            self._cached = (key, discovery, _target_of(discovery) if discovery else None)
        return self._cached[1], self._cached[2]


def _public(discovery: dict) -> dict:
    return {k: v for k, v in discovery.items() if k != "token"}


class _VigiloHandler(APIHandler):
    #: Set to (level, message) to log this request as that one line instead of
    #: Jupyter's access log (which puts request headers at error level for 5xx).
    _log_line: "Optional[tuple[int, str]]" = None

    @property
    def vigilo(self) -> _State:
        return self.settings[_SETTINGS_KEY]

    def _log(self) -> None:
        if self._log_line is None:
            super()._log()
            return
        level, message = self._log_line
        self.log.log(level, "vigilo: %s (%s %s → %d, %.1f ms)", message, self.request.method, self.request.path,
                     self.get_status(), 1000.0 * self.request.request_time())

    def _send_error(self, status: int, code: str, message: str, log_level: Optional[int] = None) -> None:
        if log_level is not None:
            self._log_line = (log_level, message)
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": {"code": code, "message": message}}))

    def _not_running(self, discovery: Optional[dict]) -> None:
        """503 saying whether no sidecar ever ran here or the announced one does not answer."""
        help_text = "Start it with the panel's Start Vigilo button, `%vigilo` in a notebook, or `vigilo serve`."
        if discovery is None:
            code, message = "sidecar_not_running", f"No Vigilo sidecar is running for this Jupyter server. {help_text}"
        elif not _sidecar.pid_alive(discovery.get("pid")):
            code, message = "sidecar_not_running", f"The Vigilo sidecar (pid {discovery.get('pid')}) is gone. {help_text}"
        else:
            code, message = "sidecar_unreachable", f"The Vigilo sidecar (pid {discovery.get('pid')}) at {discovery.get('url')} does not answer."
        self._send_error(503, code, message, log_level=logging.INFO)


class ProxyHandler(_VigiloHandler):
    """``/vigilo/api/<path>`` → ``<sidecar url>/<path>`` with the sidecar's token."""

    client_gone = False
    _upstream_stream: Optional[IOStream] = None

    def on_connection_close(self) -> None:
        self.browser_left()
        super().on_connection_close()

    def browser_left(self) -> None:
        self.client_gone = True
        if self._upstream_stream is not None:
            self._upstream_stream.close()  # ends the relay of an event stream

    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        if path in _STREAM_PATHS:
            await self._stream(path)
        else:
            await self._forward("GET", path)

    @tornado.web.authenticated
    async def post(self, path: str) -> None:
        await self._forward_body("POST", path)

    @tornado.web.authenticated
    async def put(self, path: str) -> None:
        # PUT /checkpoints/settings and PUT /llm/budgets (the panel's settings).
        await self._forward_body("PUT", path)

    async def _forward_body(self, method: str, path: str) -> None:
        body = self.request.body or b""
        if len(body) > MAX_BODY_BYTES:
            self._send_error(413, "body_too_large", f"The request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}.")
            return
        await self._forward(method, path, body)

    def _target(self, path: str) -> "Optional[tuple[_Target, str]]":
        """(target, upstream path with query), or None after answering with an error."""
        if not _PATH_RE.match(path) or ".." in path.split("/"):
            self._send_error(400, "bad_path", f"Not a sidecar path: {path!r}.")
            return None
        discovery, target = self.vigilo.target()
        if target is None:
            if discovery is None:
                self._not_running(None)
            else:
                self._send_error(502, "sidecar_not_loopback", f"sidecar.json names {discovery.get('url')!r}, not a loopback address: not proxied.")
            return None
        query = self.request.query
        if query:
            # Jupyter's own ?token= authenticates the browser here; it must not
            # reach the sidecar, which reads ?token= as its own.
            query = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"])
        return target, f"/{path}" + (f"?{query}" if query else "")

    async def _forward(self, method: str, path: str, body: Optional[bytes] = None) -> None:
        found = self._target(path)
        if found is None:
            return
        target, upstream_path = found
        answer = _Answer()
        try:
            complete = await self.vigilo.upstream.exchange(
                target, method, upstream_path, "application/json", body, answer
            )
        except _Unreachable:
            self._not_running(target.discovery)
            return
        if self.client_gone:
            return
        if not complete:
            # The sidecar died mid-answer.
            self._not_running(target.discovery)
            return
        self._relay(answer)

    def _relay(self, answer: _Answer) -> None:
        assert answer.start is not None and answer.headers is not None
        code = answer.start.code
        if code >= 500:
            self._log_line = (logging.WARNING, f"the sidecar answered {code} {answer.start.reason}")
        self.set_status(code, answer.start.reason or "Sidecar response")
        self.set_header("Content-Type", answer.headers.get("Content-Type") or "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(b"".join(answer.chunks))

    async def _stream(self, path: str) -> None:
        """Relay the sidecar's Server-Sent Events chunk by chunk until either side closes."""
        found = self._target(path)
        if found is None:
            return
        target, upstream_path = found
        answer = _StreamAnswer(self)

        def hold(stream: IOStream) -> None:
            self._upstream_stream = stream

        try:
            await self.vigilo.upstream.exchange(
                target, "GET", upstream_path, "text/event-stream", None, answer, stream_answer=True, on_stream=hold
            )
        except _Unreachable:
            if self.client_gone:
                self._log_line = (logging.INFO, "event stream closed by the browser before the sidecar answered")
            else:
                self._not_running(target.discovery)
            return
        finally:
            self._upstream_stream = None
        if self.client_gone:
            # A closed tab: one info line (Jupyter's auto-finish writes nothing to a closed connection).
            self._log_line = (logging.INFO, "event stream closed by the browser")
            return
        if answer.streaming:
            # The sidecar closed the stream (it stopped, or died): end ours quietly; the page reconnects.
            self._log_line = (logging.INFO, "event stream ended by the sidecar")
            try:
                self.finish()
            except StreamClosedError:
                pass
            return
        self._relay(answer)


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
                self._send_error(503, "node_not_found", str(err), log_level=logging.WARNING)
                return
            except _sidecar.SidecarStartError as err:
                self._send_error(500, "sidecar_start_failed", str(err), log_level=logging.WARNING)
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
