"""Real receivers on loopback for the notification tests (tests/test_notify.py).

- ``HttpReceiver``: a plain HTTP server that records every request (Apprise's json:// and ntfy:// post here).
- ``SmtpReceiver``: a real SMTP server (aiosmtpd) that records every message.
- ``TlsInterceptingProxy``: an HTTPS proxy (CONNECT) that terminates TLS with a throw-away
  self-signed certificate and records the request inside. Apprise's slack:// and discord://
  plugins post only to hooks.slack.com / discord.com over https; the worker reaches this proxy
  through the standard ``HTTPS_PROXY`` variable that requests honours, with ``?verify=no`` on the
  channel URL (an Apprise option of every URL), so the real plugins send their real payloads and
  nothing leaves the machine: the proxy never connects anywhere, it answers as the service would.
"""
from __future__ import annotations

import json
import socket
import socketserver
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, List, Optional


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpReceiver:
    """Records requests; ``reply(path)`` gives (status, body) or None to hang until stopped."""

    def __init__(self, reply: Callable[[str], Optional[tuple]] = lambda _p: (200, b"{}")) -> None:
        self.requests: List[Dict] = []
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                receiver.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "raw": raw})
                answer = reply(self.path)
                if answer is None:
                    receiver.released.wait(30)
                    return
                self.send_response(answer[0])
                self.send_header("Content-Length", str(len(answer[1])))
                self.end_headers()
                self.wfile.write(answer[1])

            do_POST = do_PUT = do_GET = _any

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json(self, i: int) -> dict:
        return json.loads(self.requests[i]["raw"])

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: List[Dict] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                receiver.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "content": envelope.content.decode("utf-8", "replace")})
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class TlsInterceptingProxy:
    """CONNECT host:443 → TLS with a self-signed cert → record the request → answer as the service."""

    def __init__(self, workdir: Path, answers: Dict[str, tuple]) -> None:
        self.requests: List[Dict] = []
        key, cert = workdir / "proxy.key", workdir / "proxy.crt"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=vigilo-test-proxy"],
            check=True,
            capture_output=True,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline().decode("latin-1").strip()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                method, target, _ = line.split(" ", 2)
                if method != "CONNECT":
                    self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                    return
                host = target.rsplit(":", 1)[0]
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                tls = context.wrap_socket(self.connection, server_side=True)
                stream = tls.makefile("rb")
                request_line = stream.readline().decode("latin-1").strip()
                headers = {}
                while True:
                    h = stream.readline().decode("latin-1")
                    if h in ("\r\n", "\n", ""):
                        break
                    k, _, v = h.partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = stream.read(int(headers.get("content-length") or 0))
                verb, path, _ = request_line.split(" ", 2)
                proxy.requests.append({"host": host, "method": verb, "path": path, "headers": headers, "raw": body})
                status, payload = answers.get(host, (404, b""))
                reason = {200: "OK", 204: "No Content", 404: "Not Found"}.get(status, "OK")
                tls.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
                tls.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
