"""Serving a simulator: in-process as an httpx transport, or over HTTP on a loopback port.

Either way every request goes to one `handle` function; a `DropConnection` it raises cuts the connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import httpx

from .faults import DropConnection

Handle = Callable[[httpx.Request], httpx.Response]
RECEIVED_AT = "received_at"  # request extension: time.monotonic() when the request line arrived


def in_process_transport(handle: Handle) -> httpx.BaseTransport:
    """An httpx transport that answers in-process, dropped connections included."""

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        try:
            return handle(request)
        except DropConnection as exc:
            raise httpx.RemoteProtocolError("simulated dropped connection", request=request) from exc

    return httpx.MockTransport(answer)


@contextmanager
def serve_on_loopback(handle: Handle, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve on a loopback port (or on `host`, e.g. the Docker bridge for `sam local`); yields the server's root
    URL (no trailing slash)."""
    server = _LoopbackServer((host, port), _make_handler(handle))
    server.root_url = f"http://{host}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.root_url
    finally:
        server.shutdown()
        server.server_close()


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    root_url = ""

    def handle_error(self, request: object, client_address: object) -> None:
        """A client hanging up mid-answer is normal (timeouts, tests); real servers don't print tracebacks."""


def _make_handler(handle: Handle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the body would wait for the client's
        # delayed ACK (~40 ms), far more than the latency being simulated.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            """Keeps the server quiet; tests and the demo print what matters."""

        def parse_request(self) -> bool:
            # The request line has just arrived: reading the headers and the body counts toward the latency, as a
            # real service's parsing does.
            self.received_at = time.monotonic()
            return super().parse_request()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = httpx.Request(
                self.command,
                f"{cast(_LoopbackServer, self.server).root_url}{self.path}",
                headers=list(self.headers.items()),
                content=body,
                extensions={RECEIVED_AT: self.received_at},
            )
            try:
                response = handle(request)
            except DropConnection:
                self.close_connection = True
                return
            payload = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.multi_items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    return Handler
