"""A real webhook receiver for the tests: a threaded HTTP server on 127.0.0.1 that verifies
every request's signature with the ``standardwebhooks`` library, records it, and answers what
the test asks for (a status, a slow answer past the client's timeout, a redirect)."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]

    @property
    def event(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result


@dataclass
class Receiver:
    """``answers`` are consumed in order (then 200): an int status, ``"timeout"`` or ``"redirect"``."""

    server: ThreadingHTTPServer
    secrets: dict[str, list[str]] = field(default_factory=dict)  # path -> secrets that may sign
    answers: dict[str, list[int | str]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    slow_seconds: float = 2.0

    server_names: list[str | None] = field(default_factory=list)  # TLS SNI of each handshake

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        path = handler.path
        verified_with = []
        for secret in self.secrets.get(path, []):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified_with.append(secret)
        with self.lock:
            self.received.append(Received(path=path, headers=headers, body=body, verified_with=verified_with))
            queue = self.answers.get(path) or []
            answer: int | str = queue.pop(0) if queue else 200
        if answer == "timeout":
            time.sleep(self.slow_seconds)
            answer = 200
        if answer == "redirect":
            handler.send_response(302)
            handler.send_header("Location", self.url("/elsewhere"))
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        reply = (b"x" * 3000) if answer == 299 else b'{"ok": true}'
        handler.send_response(int(answer))
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(reply)))
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(reply)


def receiver_running(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver._handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server=server)
    if tls is not None:

        def record_sni(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
            receiver.server_names.append(name)

        tls.sni_callback = record_sni
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
