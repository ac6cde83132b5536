"""The one-line progress display of long commands, on stderr and only when stderr is a terminal.

It shows the records written so far and, while a request waits, what it waits for ("waiting 38 s for Gusto's
rate limit"); the next count replaces the notice.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from access_sync.cli.output import counted

_CLEAR_TO_END = "\x1b[K"


class TerminalProgress:
    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream
        self._counts = ""
        self._notice = ""
        self._lock = threading.Lock()

    @classmethod
    def on_stderr(cls, label: str, quiet: bool = False) -> TerminalProgress | None:
        return None if quiet or not sys.stderr.isatty() else cls(label, sys.stderr)

    def counts(self, counts: dict[str, int]) -> None:
        with self._lock:
            self._counts = ", ".join(counted(number, kind.removesuffix("s")) for kind, number in counts.items())
            self._notice = ""
            self._show()

    def waiting(self, notice: str) -> None:
        with self._lock:
            self._notice = notice
            self._show()

    def done(self) -> None:
        print(file=self.stream, flush=True)

    def _show(self) -> None:
        text = f"{self.label}: {self._counts or 'starting'}" + (f" ({self._notice})" if self._notice else "")
        print(f"\r{text}{_CLEAR_TO_END}", end="", file=self.stream, flush=True)
