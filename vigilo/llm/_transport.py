"""One kept-alive HTTP/1.1 connection to the sidecar, for the sender thread (core; standard library only).

``urllib`` opens a connection (and builds an opener) per request; a notebook that makes a call every few
hundred milliseconds paid that each time. Here one ``http.client`` connection is kept and reused while the
sidecar's address stays the same. The sidecar closes a connection idle for 5 s (``server.keepAliveTimeout``
in src/server/sidecar.ts): one idle longer than ``IDLE_S`` is not reused, and a reused one that the server
closed meanwhile is retried once on a fresh connection. A resend is harmless: the sidecar ignores an event id
it already has.

Loopback only and never through an HTTP proxy (``http.client`` reads no proxy settings).
"""
from __future__ import annotations

import http.client
import json
import time
from typing import Any, Optional
from urllib.parse import urlsplit

#: a connection idle this long is closed rather than reused (the sidecar drops it at 5 s)
IDLE_S = 4.0
#: what a reused connection that the server closed meanwhile raises
_STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Connection:
    """Not thread-safe: the delivery uses it under its send lock."""

    def __init__(self, clock: "Any" = time.monotonic) -> None:
        self._clock = clock
        self._conn: Optional[http.client.HTTPConnection] = None
        self._where: "Optional[tuple[str, int]]" = None
        self._used_at = 0.0
        #: connections opened so far (the bench reports it)
        self.opened = 0

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None

    def post(self, url: str, token: str, path: str, body: bytes, timeout: float) -> "tuple[int, Any]":
        """POST ``body`` (JSON bytes) with the token; (status, parsed JSON or text). Raises OSError (and
        http.client.HTTPException) when the sidecar cannot be reached."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the sidecar's url is not http://host:port: {url!r}")
        where = (parts.hostname, parts.port or 80)
        now = self._clock()
        if self._conn is not None and (where != self._where or now - self._used_at > IDLE_S):
            self.close()
        reused = self._conn is not None
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
        target = parts.path.rstrip("/") + path
        try:
            try:
                answer = self._once(where, target, body, headers, timeout)
            except _STALE:
                if not reused:
                    raise
                self.close()
                answer = self._once(where, target, body, headers, timeout)
        except BaseException:
            self.close()
            raise
        self._used_at = self._clock()
        return answer

    def _once(self, where: "tuple[str, int]", path: str, body: bytes, headers: dict, timeout: float) -> "tuple[int, Any]":
        if self._conn is None:
            self._conn = http.client.HTTPConnection(where[0], where[1], timeout=timeout)
            self._where = where
            self.opened += 1
        conn = self._conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        if response.will_close:
            self.close()
        kind = response.getheader("Content-Type") or ""
        try:
            parsed: Any = json.loads(raw) if raw and "json" in kind else raw.decode("utf-8", "replace")
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return response.status, parsed
