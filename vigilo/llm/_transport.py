"""One kept-alive HTTP/1.1 connection to the sidecar, for the sender thread (core; standard library only).

``urllib`` opens a connection (and builds an opener) per request; a notebook that makes a call every few hundred
milliseconds paid that each time. Here one connection is kept and reused while the sidecar's address stays the
same. The sidecar closes a connection idle for 5 s (``server.keepAliveTimeout`` in src/server/sidecar.ts): one
idle longer than ``IDLE_S`` is not reused, and a reused one that the server closed meanwhile is retried once on a
fresh connection. A resend is harmless: the sidecar ignores an event id it already has.

Why not ``http.client``: it writes the headers and the body in two ``send()`` calls and parses the answer's
headers with the e-mail parser; on loopback each send costs tens of µs of kernel time in this process, and with
Nagle's algorithm the second one can wait for a delayed ACK. A request here is one ``sendall`` on a TCP_NODELAY
socket, and the answer is read for what the sidecar sends (a status line, headers, a Content-Length or chunked
body). About half the CPU per request (bench/llm_overhead_python.py --cpu).

Loopback only and never through an HTTP proxy (no proxy settings are read).
"""
from __future__ import annotations

import json
import socket
import time
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

#: a connection idle this long is closed rather than reused (the sidecar drops it at 5 s)
IDLE_S = 4.0
_MAX_HEAD = 64 * 1024


class ProtocolError(OSError):
    """The answer is not the HTTP/1.1 the sidecar speaks (or the connection ended inside it)."""


class Connection:
    """Not thread-safe: the delivery uses it under its send lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sock: Optional[socket.socket] = None
        self._where: "Optional[tuple[str, int]]" = None
        self._buffer = b""
        self._used_at = 0.0
        #: connections opened so far (tests and the bench read it)
        self.opened = 0

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._buffer = b""

    def post(self, url: str, token: str, path: str, body: bytes, timeout: float) -> "tuple[int, Any]":
        """POST ``body`` (JSON bytes) with the token; (status, parsed JSON or text). Raises OSError when the sidecar
        cannot be reached or does not answer."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the sidecar's url is not http://host:port: {url!r}")
        if any(c in token for c in "\r\n"):
            raise ValueError("the sidecar's token holds a line break")
        where = (parts.hostname, parts.port or 80)
        host = f"[{where[0]}]:{where[1]}" if ":" in where[0] else f"{where[0]}:{where[1]}"
        request = (
            f"POST {parts.path.rstrip('/')}{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        if self._sock is not None and (where != self._where or self._clock() - self._used_at > IDLE_S):
            self.close()
        reused = self._sock is not None
        try:
            try:
                answer = self._once(where, request, timeout)
            except OSError as err:
                # A reused connection the server closed meanwhile (reset, broken pipe, closed before answering):
                # once more on a fresh one. A timeout is not retried: the sidecar is there but slow.
                if not reused or isinstance(err, TimeoutError):
                    raise
                self.close()
                answer = self._once(where, request, timeout)
        except BaseException:
            self.close()
            raise
        self._used_at = self._clock()
        return answer

    def _once(self, where: "tuple[str, int]", request: bytes, timeout: float) -> "tuple[int, Any]":
        if self._sock is None:
            self._sock = socket.create_connection(where, timeout=timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._where = where
            self.opened += 1
        sock = self._sock
        sock.settimeout(timeout)
        sock.sendall(request)
        status, headers, raw = self._read_answer(sock)
        if headers.get("connection", "").lower() == "close":
            self.close()
        try:
            parsed: Any = json.loads(raw) if raw and "json" in headers.get("content-type", "") else raw.decode("utf-8", "replace")
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return status, parsed

    # ----------------------------------------------------------------------------- reading
    def _more(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ProtocolError("the sidecar closed the connection before answering")
        self._buffer += chunk

    def _line(self, sock: socket.socket) -> bytes:
        while b"\r\n" not in self._buffer:
            if len(self._buffer) > _MAX_HEAD:
                raise ProtocolError("an answer line longer than 64 KiB")
            self._more(sock)
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _take(self, sock: socket.socket, n: int) -> bytes:
        while len(self._buffer) < n:
            self._more(sock)
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _read_answer(self, sock: socket.socket) -> "tuple[int, dict, bytes]":
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > _MAX_HEAD:
                raise ProtocolError("answer headers longer than 64 KiB")
            self._more(sock)
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        try:
            status = int(rest[:3])
        except ValueError:
            raise ProtocolError(f"not an HTTP status line: {lines[0][:80]!r}") from None
        if not version.startswith("HTTP/1."):
            raise ProtocolError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self._line(sock).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self._line(sock):  # trailers, up to the empty line
                        pass
                    return status, headers, body
                body += self._take(sock, size)
                self._take(sock, 2)
        if "content-length" in headers:
            return status, headers, self._take(sock, int(headers["content-length"]))
        if status in (204, 304) or 100 <= status < 200:
            return status, headers, b""
        # No length: the body runs to the end of the connection.
        headers["connection"] = "close"
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                body, self._buffer = self._buffer, b""
                return status, headers, body
            self._buffer += chunk
