"""Rate limiters: Guru's optional per-second token bucket and Gusto's requests per rolling minute."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime


class TokenBucket:
    """Allows `rate` requests a second on average, with bursts up to one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Takes one token; returns 0 when allowed, else the seconds until a token is available."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self._rate


class RollingWindow:
    """Counts requests over the last `window` seconds, as Gusto's limiter does per OAuth grant."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> tuple[bool, dict[str, str]]:
        """Record one request if the window has room; returns (admitted, rate-limit headers)."""
        now = self._clock()
        with self._lock:
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            admitted = len(self._hits) < self.limit
            if admitted:
                self._hits.append(now)
            frees_at = (self._hits[0] if self._hits else now) + self.window
            remaining = self.limit - len(self._hits)
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": datetime.fromtimestamp(frees_at, UTC).strftime("%Y-%m-%d %H:%M:%S +0000"),
        }
        if not admitted:
            headers["Retry-After"] = str(max(1, math.ceil(frees_at - now)))
        return admitted, headers
