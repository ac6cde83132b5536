"""When to stop and checkpoint: a Lambda's remaining time minus a safety margin."""

from __future__ import annotations

from collections.abc import Callable


class Deadline:
    def __init__(self, remaining_seconds: Callable[[], float] | None = None, margin: float = 60.0) -> None:
        self._remaining = remaining_seconds
        self.margin = margin

    def should_stop(self) -> bool:
        return self._remaining is not None and self._remaining() < self.margin

    @classmethod
    def never(cls) -> Deadline:
        return cls(None)
