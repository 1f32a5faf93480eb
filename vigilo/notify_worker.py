"""Delivery worker for Vigilo's notifications: ``python -m vigilo.notify_worker``.

The sidecar decides what to send (src/core/notify.ts) and starts this process
once; it lives beside the sidecar, not in the kernel, so a busy or dead kernel
delays nothing. It speaks JSON lines over stdin / stdout:

    -> {"op": "send", "id": "n1", "url": "ntfy://…", "title": "…", "body": "…",
        "severity": "warning", "timeoutS": 10}
    <- {"op": "result", "id": "n1", "ok": false, "ms": 12.5, "error": "…"}

and says first ``{"op": "hello", "apprise": "1.9.0"}`` (or ``"apprise": null`` with
the one line that installs it). One attempt per request; the sidecar retries
with backoff. Each delivery runs on a small thread pool, so a channel that hangs
holds only its own thread, up to its timeout. Errors name the channel by its
redacted form only: secrets in the URL never leave this process.

Apprise (``pip install 'vigilo[notify]'``) is an optional dependency: the rest
of Vigilo is standard-library only.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

INSTALL_HINT = "pip install 'vigilo[notify]'   (or: pip install apprise)"
WORKERS = 4


def secrets_of(url: str) -> List[str]:
    """Every part of an Apprise URL that may be a secret: user, password, path
    segments, query values and a host that is not a host name (Telegram's bot
    token, Discord's webhook id), longest first, for scrubbing."""
    parts = {url}
    try:
        s = urlsplit(url)
        head = url.split("://", 1)[1] if "://" in url else url
        netloc = head.split("/", 1)[0].split("?", 1)[0]
        userinfo, _, host = netloc.rpartition("@")
        for piece in userinfo.split(":"):
            parts.add(piece)
            parts.add(unquote(piece))
        name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
        if port and not port.isdigit():
            # Not a port: a token in the host's place (Telegram's tgram://123456:ABC-DEF/chat).
            parts.update((host, name, port))
        elif "." not in name and name != "localhost" and not name.startswith("["):
            parts.add(name)
        for seg in s.path.split("/"):
            parts.add(seg)
            parts.add(unquote(seg))
        for _, value in parse_qsl(s.query, keep_blank_values=True):
            parts.add(value)
    except ValueError:
        pass
    return sorted((p for p in parts if len(p) >= 3), key=len, reverse=True)


def scrub(text: str, secrets: List[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class _ThreadLog(logging.Handler):
    """Collects Apprise's warnings per delivery thread: its reasons for a failure."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: Dict[int, List[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        lines = self.lines.get(record.thread or 0)
        if lines is not None and len(lines) < 8:
            try:
                lines.append(record.getMessage())
            except Exception:  # a malformed log call must not break the delivery
                pass


class Worker:
    def __init__(self, out=None) -> None:
        self.out = out or sys.stdout
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="vigilo-notify")
        self.log = _ThreadLog()
        try:
            import apprise  # noqa: F401

            self.apprise: Any = apprise
            # Load Apprise's plugins now, not on the first message (about 0.5 s on a 2-core runtime).
            apprise.Apprise().add("json://localhost")
            logging.getLogger("apprise").addHandler(self.log)
            logging.getLogger("apprise").setLevel(logging.WARNING)
        except ImportError:
            self.apprise = None

    def emit(self, message: Dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":"))
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def hello(self) -> None:
        if self.apprise is None:
            self.emit({"op": "hello", "apprise": None, "error": f"apprise is not installed for {sys.executable}: {INSTALL_HINT}"})
        else:
            self.emit({"op": "hello", "apprise": getattr(self.apprise, "__version__", "?"), "python": sys.executable})

    def send(self, request: Dict[str, Any]) -> Dict[str, Any]:
        started = time.monotonic()
        url = str(request.get("url", ""))
        secrets = secrets_of(url)
        result: Dict[str, Any] = {"op": "result", "id": request.get("id")}
        if self.apprise is None:
            return {**result, "ok": False, "ms": 0.0, "error": f"apprise is not installed: {INSTALL_HINT}"}
        ident = threading.get_ident()
        self.log.lines[ident] = []
        try:
            a = self.apprise.Apprise()
            if not a.add(url):
                return {**result, "ok": False, "ms": _ms(started), "error": "Apprise does not understand this URL (see https://appriseit.com/ for each service's form)"}
            timeout = float(request.get("timeoutS") or 10.0)
            kind = {"critical": self.apprise.NotifyType.FAILURE, "warning": self.apprise.NotifyType.WARNING}.get(
                str(request.get("severity")), self.apprise.NotifyType.INFO
            )
            ok = True
            for plugin in a:
                # Bounded per attempt: a receiver that hangs costs one timeout, not a stuck worker.
                plugin.socket_connect_timeout = min(timeout, 5.0)
                plugin.socket_read_timeout = timeout
                # The plugin's own notify() on this thread (Apprise.notify() hands it to a shared
                # executor), so the reasons it logs are this delivery's.
                ok = bool(plugin.notify(title=str(request.get("title", "")), body=str(request.get("body", "")), notify_type=kind)) and ok
            if ok:
                return {**result, "ok": True, "ms": _ms(started)}
            why = "; ".join(self.log.lines.get(ident) or []) or "the service refused the message"
            return {**result, "ok": False, "ms": _ms(started), "error": scrub(why, secrets)[:500]}
        except Exception as err:  # anything Apprise raises is this channel's failure, never the worker's
            return {**result, "ok": False, "ms": _ms(started), "error": scrub(f"{type(err).__name__}: {err}", secrets)[:500]}
        finally:
            self.log.lines.pop(ident, None)

    def handle(self, line: str) -> None:
        try:
            request = json.loads(line)
        except ValueError:
            self.emit({"op": "error", "error": "not a JSON line"})
            return
        op = request.get("op")
        if op == "send":
            future = self.pool.submit(self.send, request)
            future.add_done_callback(lambda f: self.emit(f.result()))
        elif op == "ping":
            self.emit({"op": "pong", "id": request.get("id")})
        else:
            self.emit({"op": "error", "id": request.get("id"), "error": f"unknown op {op!r}"})

    def run(self, stdin=None) -> None:
        self.hello()
        for line in stdin or sys.stdin:
            if line.strip():
                self.handle(line)
        # stdin closed: the sidecar stopped. Let deliveries in flight end, then leave.
        self.pool.shutdown(wait=True)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def main(argv: Optional[List[str]] = None) -> int:
    Worker().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
