"""Fault injection shared by both simulators: scripted or random 5xx, 429 and dropped connections."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import httpx

from .responses import json_response


class DropConnection(Exception):
    """Raised by a simulator to cut the connection without answering."""


@dataclass
class Faults:
    """Faults to inject before a request reaches the API logic.

    `script` is consumed first, one entry per request (a status code such as 503 or 429, "drop", or None for
    an ordinary answer);
    afterwards each request fails at random with the given rates (seeded, so runs repeat).
    """

    script: list[int | str | None] = field(default_factory=list)
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

    def response(self, fault: int) -> httpx.Response:
        """The answer to an injected status code; a 429 carries `Retry-After` when `retry_after` is set."""
        send_retry_after = fault == 429 and self.retry_after is not None
        headers = {"Retry-After": str(self.retry_after)} if send_retry_after else None
        return json_response(fault, {"message": "injected fault"}, headers)
