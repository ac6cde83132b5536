"""Client-side limits: a request-rate window (pyrate-limiter) and adaptive concurrency (AIMD).

The rate window keeps us under a published quota (Gusto: 200 requests per rolling minute), so 429 stays
rare. Adaptive concurrency halves the requests in flight when a service throttles anyway and grows them
back one at a time while it does not, the way TCP treats congestion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate
from pyrate_limiter.abstracts.rate import RateItem

# Told how many seconds the caller is about to wait for the limit.
WaitNotice = Callable[[float], None]


class RateWindow:
    """At most `limit` requests in any `seconds`-long window; `acquire` blocks until one is allowed."""

    def __init__(self, limit: int, seconds: float = 60.0) -> None:
        self.limit = limit
        self._bucket = InMemoryBucket([Rate(limit, Duration.SECOND * seconds)])
        self._limiter = Limiter(self._bucket)

    def acquire(self, on_wait: WaitNotice | None = None) -> None:
        if self._limiter.try_acquire("requests", blocking=False):
            return
        if on_wait:
            waiting = self._bucket.waiting(RateItem("requests", self._bucket.now()))  # milliseconds
            on_wait(max(0, waiting) / 1000 if isinstance(waiting, int) else 0.0)
        self._limiter.try_acquire("requests", blocking=True)


class AdaptiveConcurrency:
    """A semaphore whose size shrinks on throttling and recovers on success."""

    def __init__(self, maximum: int, cooldown: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.in_flight = 0
        self.throttled = 0
        self._successes = 0
        self._cooldown = cooldown
        self._last_cut = float("-inf")
        self._clock = clock
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1

    def release(self, throttled: bool = False) -> None:
        with self._cond:
            self.in_flight -= 1
            if throttled:
                self._on_throttle()
            else:
                self._on_success()
            self._cond.notify_all()

    def _on_throttle(self) -> None:
        self.throttled += 1
        now = self._clock()
        # One cut per cooldown: a burst of 429s from requests already in flight is one signal, not many.
        if now - self._last_cut >= self._cooldown:
            self.limit = max(1, self.limit // 2)
            self._last_cut = now
            self._successes = 0

    def _on_success(self) -> None:
        if self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self.limit += 1
            self._successes = 0
