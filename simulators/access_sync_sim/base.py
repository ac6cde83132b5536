"""The base class of both simulators: counts requests, injects faults and latency, then asks `route`."""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager

import httpx

from .faults import DropConnection, Faults
from .responses import json_response
from .serving import RECEIVED_AT, in_process_transport, serve_on_loopback

__all__ = ["DropConnection", "Faults", "Simulator", "json_response"]


class Simulator:
    """Base class: subclasses implement `route`; this adds latency, faults, counting and serving.

    `max_in_flight` holds, per path (query left out), the most requests for it that were being answered at once.
    """

    def __init__(self, latency: float = 0.0, faults: Faults | None = None) -> None:
        self.latency = latency
        self.faults = faults or Faults()
        self.requests = 0
        self.request_log: list[tuple[str, str]] = []
        self.in_flight = 0
        self.peak_in_flight = 0  # the most requests being answered at once, so far
        self.max_in_flight: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}
        self._count_lock = threading.Lock()

    def route(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        with self._count_lock:
            self.requests += 1
            self.request_log.append((request.method, request.url.raw_path.decode()))
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self._in_flight[path] = self._in_flight.get(path, 0) + 1
            self.max_in_flight[path] = max(self.max_in_flight.get(path, 0), self._in_flight[path])
        try:
            return self._answer(request)
        finally:
            with self._count_lock:
                self.in_flight -= 1
                self._in_flight[path] -= 1

    def _answer(self, request: httpx.Request) -> httpx.Response:
        started = float(request.extensions.get(RECEIVED_AT, time.monotonic()))
        fault = self.faults.next_fault()
        if fault == "drop":
            self._wait_out_latency(started)
            raise DropConnection()
        response = self.route(request) if fault is None else self.faults.response(int(fault))
        self._wait_out_latency(started)
        return response

    def _wait_out_latency(self, started: float) -> None:
        """`latency` is the whole time to answer, like a real service's; our own work counts toward it."""
        if self.latency:
            time.sleep(max(0.0, self.latency - (time.monotonic() - started)))

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that answers in-process, dropped connections included."""
        return in_process_transport(self.handle)

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> AbstractContextManager[str]:
        """Serve on a loopback port (or on `host`); yields the server's root URL (no trailing slash)."""
        return serve_on_loopback(self.handle, port, host)
