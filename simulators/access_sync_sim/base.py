"""What both simulators share: fault and latency injection, an in-process transport and a loopback server."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import httpx


class DropConnection(Exception):
    """Raised by a simulator to cut the connection without answering."""


@dataclass
class Faults:
    """Faults to inject before a request reaches the API logic.

    `script` is consumed first, one entry per request (a status code such as 503 or 429, or "drop");
    afterwards each request fails at random with the given rates (seeded, so runs repeat).
    """

    script: list[int | str] = field(default_factory=list)
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after: int | None = None
    seed: int = 7
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def next_fault(self) -> int | str | None:
        with self._lock:
            if self.script:
                return self.script.pop(0)
            roll = self._rng.random()
        if roll < self.drop_rate:
            return "drop"
        if roll < self.drop_rate + self.error_rate:
            return 503
        if roll < self.drop_rate + self.error_rate + self.throttle_rate:
            return 429
        return None


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


class Simulator:
    """Base class: subclasses implement `route`; this adds latency, faults, counting and serving."""

    def __init__(self, latency: float = 0.0, faults: Faults | None = None) -> None:
        self.latency = latency
        self.faults = faults or Faults()
        self.requests = 0
        self.request_log: list[tuple[str, str]] = []
        self._count_lock = threading.Lock()

    def route(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._count_lock:
            self.requests += 1
            self.request_log.append((request.method, request.url.raw_path.decode()))
        started = time.monotonic()
        fault = self.faults.next_fault()
        if fault == "drop":
            self._wait_out_latency(started)
            raise DropConnection()
        if fault is not None:
            send_retry_after = fault == 429 and self.faults.retry_after is not None
            headers = {"Retry-After": str(self.faults.retry_after)} if send_retry_after else None
            response = json_response(int(fault), {"message": "injected fault"}, headers)
        else:
            response = self.route(request)
        self._wait_out_latency(started)
        return response

    def _wait_out_latency(self, started: float) -> None:
        """`latency` is the whole time to answer, like a real service's; our own work counts toward it."""
        if self.latency:
            time.sleep(max(0.0, self.latency - (time.monotonic() - started)))

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that answers in-process, dropped connections included."""

        def answer(request: httpx.Request) -> httpx.Response:
            request.read()
            try:
                return self.handle(request)
            except DropConnection as exc:
                raise httpx.RemoteProtocolError("simulated dropped connection", request=request) from exc

        return httpx.MockTransport(answer)

    @contextmanager
    def serve(self, port: int = 0) -> Iterator[str]:
        """Serve on a loopback port; yields the server's root URL (no trailing slash)."""
        server = _LoopbackServer(("127.0.0.1", port), _make_handler(self))
        server.root_url = f"http://127.0.0.1:{server.server_port}"
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


def _make_handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the body would wait for the client's
        # delayed ACK (~40 ms), far more than the latency being simulated.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            """Keeps the server quiet; tests and the demo print what matters."""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = httpx.Request(
                self.command,
                f"{cast(_LoopbackServer, self.server).root_url}{self.path}",
                headers=list(self.headers.items()),
                content=body,
            )
            try:
                response = sim.handle(request)
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
