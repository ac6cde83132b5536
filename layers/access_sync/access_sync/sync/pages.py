"""Fetching several paged lists at once while one thread writes every record.

A *chain* is one paged list (Guru's members, one group's members): its pages come one after another,
because each page names the next. Each worker owns one chain at a time and asks for the chain's next
page as soon as the current one arrives, so a long chain (the critical path) never waits for the writer.
Pages go to the writer (the calling thread) through a bounded queue, which keeps memory bounded and
slows fetching when writing falls behind. Cursors are updated only by the writer, after a page was
handled, so they can be saved in a checkpoint at any point between pages.

New chains come from an iterator, taken in order; each announces itself to the writer before any of its
pages, in the order taken, so the writer can count the chains begun (`started`) as a resumable position.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from access_sync.sync.deadline import Deadline

Page = tuple[list[dict[str, Any]], str | None]
Chain = tuple[str, str]  # (key, URL of its next page)
_PAGE, _RESUMED, _NEW = "page", "resumed", "new"
# (what, chain key, items, next URL): a page, or a worker taking up a chain (items None, its first URL).
_Event = tuple[str, str, list[dict[str, Any]] | None, str | None]


class _Chains:
    """Worker threads fetch; the calling thread (the only writer) handles pages and moves the cursors."""

    def __init__(
        self,
        fetch: Callable[[str], Page],
        cursors: dict[str, str],
        handle: Callable[[str, list[dict[str, Any]]], None],
        more: Iterator[Chain],
        started: Callable[[str], None],
        workers: int,
    ) -> None:
        self.fetch, self.cursors, self.handle = fetch, cursors, handle
        self.more, self.started = more, started
        self.workers = max(1, workers)
        self.events: queue.Queue[_Event | BaseException | None] = queue.Queue(maxsize=2 * self.workers)
        self.pending = list(cursors.items())
        self.take_lock = threading.Lock()
        self.stop = threading.Event()

    def take(self) -> Chain | None:
        """The next chain, announced to the writer under the lock, so announcements arrive in the order taken."""
        with self.take_lock:
            if self.pending:
                key, url = self.pending.pop(0)
                self.events.put((_RESUMED, key, None, url))
                return key, url
            chain = next(self.more, None)
            if chain is not None:
                self.events.put((_NEW, chain[0], None, chain[1]))
            return chain

    def work(self) -> None:
        try:
            while not self.stop.is_set() and (chain := self.take()):
                key, url = chain
                next_url: str | None = url
                while next_url and not self.stop.is_set():
                    items, following = self.fetch(next_url)
                    self.events.put((_PAGE, key, items, following))
                    next_url = following
        except BaseException as exc:  # re-raised by the writer, once the other workers have stopped
            self.events.put(exc)
        finally:
            self.events.put(None)

    def write(self, event: _Event) -> None:
        what, key, items, next_url = event
        if items is None:
            self.cursors[key] = next_url or ""
            if what == _NEW:
                self.started(key)
            return
        self.handle(key, items)
        if next_url:
            self.cursors[key] = next_url
        else:
            del self.cursors[key]

    def run(self, deadline: Deadline) -> bool:
        for index in range(self.workers):
            threading.Thread(target=self.work, name=f"pages_{index}", daemon=True).start()
        error: BaseException | None = None
        running = self.workers
        while running:
            event = self.events.get()
            if event is None:
                running -= 1
            elif isinstance(event, BaseException):
                error = error or event
                self.stop.set()
            elif error is None:  # after a failure, only drain until every worker has stopped
                try:
                    self.write(event)
                except BaseException as exc:
                    error = exc
                    self.stop.set()
                if deadline.should_stop():
                    self.stop.set()
        if error is not None:
            raise error
        return not self.stop.is_set()


def run_chains(
    fetch: Callable[[str], Page],
    cursors: dict[str, str],
    handle: Callable[[str, list[dict[str, Any]]], None],
    deadline: Deadline,
    workers: int,
    more: Iterator[Chain] | None = None,
    started: Callable[[str], None] = lambda key: None,
) -> bool:
    """Runs chains until all are exhausted (True) or the deadline asks to stop (False).

    `cursors` maps chain key → URL of its next page and is updated in place, on the calling thread. `more`
    supplies new chains (key, first URL) in order when a worker is free; `started(key)` runs on the calling
    thread once per new chain, in that order, before any of its pages is handled.
    """
    return _Chains(fetch, cursors, handle, more or iter(()), started, workers).run(deadline)
