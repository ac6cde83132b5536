"""Fetching several paged lists at once while one thread writes every record.

A *chain* is one paged list (Guru's members, one group's members): its pages come one after another,
because each page names the next. Each worker owns one chain at a time and asks for the chain's next
page as soon as the current one arrives; a page travels to the writer (the calling thread) unparsed, so
parsing it never delays the next request. Cursors are updated only by the writer, after a page was
handled, so they can be saved in a checkpoint at any point between pages.

One chain may be *critical*: the longest one, which bounds the whole fetch (Guru's /members). While it
runs, it has a worker of its own and the other chains share half the workers, since every page they
fetch costs the process CPU the critical chain then waits for; once it ends, they get every worker.
Pages wait for the writer in bounded room, so memory stays bounded and fetching slows when writing falls
behind; the critical chain has room of its own, so it never waits behind its siblings' pages.

New chains come from an iterator, taken in order; each announces itself to the writer before any of its
pages, in the order taken, so the writer can count the chains begun (`started`) as a resumable position.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from access_sync.sync.deadline import Deadline

P = TypeVar("P")  # a page as fetched, before the writer parses it
P_co = TypeVar("P_co", covariant=True)
Chain = tuple[str, str]  # (key, URL of its next page)


class Fetch(Protocol[P_co]):
    def __call__(self, url: str, sent: Callable[[], None], /) -> tuple[P_co, str | None]: ...


_PAGE, _RESUMED, _NEW = "page", "resumed", "new"
# (what, chain key, page, next URL): a page, or a worker taking up a chain (page None, its first URL).
_Event = tuple[str, str, P | None, str | None]
CRITICAL_ROOM = 2  # pages of the critical chain waiting for the writer before it waits too


class _Chains(Generic[P]):
    """Worker threads fetch; the calling thread (the only writer) handles pages and moves the cursors."""

    def __init__(
        self,
        fetch: Fetch[P],
        cursors: dict[str, str],
        handle: Callable[[str, P], None],
        more: Iterator[Chain],
        started: Callable[[str], None],
        workers: int,
        critical: str | None,
    ) -> None:
        self.fetch, self.cursors, self.handle = fetch, cursors, handle
        self.more, self.started = more, started
        self.workers = max(1, workers)
        self.critical: Chain | None = None
        if critical is not None and critical in cursors:
            self.critical = (critical, cursors[critical])
        self.pending = [chain for chain in cursors.items() if chain != self.critical]
        # A worker holds a slot while it follows a chain other than the critical one.
        self.shared = min(self.workers - 1, self.workers // 2) if self.critical else self.workers
        self.slots = threading.Semaphore(self.shared)
        self.room = threading.Semaphore(2 * self.workers)
        self.critical_room = threading.Semaphore(CRITICAL_ROOM)
        # None when a worker has stopped, or the exception that stopped it.
        self.events: queue.SimpleQueue[_Event[P] | BaseException | None] = queue.SimpleQueue()
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

    def follow(self, chain: Chain, room: threading.Semaphore) -> None:
        key, url = chain
        next_url: str | None = url
        fetched: list[_Event[P]] = []  # the page not yet handed over: at most one

        def hand_over() -> None:
            # The writer gets a page once the request for the next one is on the wire: woken earlier, it would
            # hold the interpreter lock (parsing the page) while this thread still has a request to send.
            if fetched:
                self.events.put(fetched.pop())

        while next_url and not self.stop.is_set():
            page, following = self.fetch(next_url, hand_over)
            hand_over()  # fetch did not send (a retry's wait, say) or this is the last page
            room.acquire()
            fetched.append((_PAGE, key, page, following))
            next_url = following
        hand_over()

    def work(self, critical: Chain | None) -> None:
        try:
            if critical is not None:
                self.events.put((_RESUMED, critical[0], None, critical[1]))
                self.follow(critical, self.critical_room)
                self.slots.release(self.workers - self.shared)  # its siblings may now use every worker
            while not self.stop.is_set():
                with self.slots:
                    chain = None if self.stop.is_set() else self.take()
                    if chain is None:
                        break
                    self.follow(chain, self.room)
        except BaseException as exc:  # re-raised by the writer, once the other workers have stopped
            self.events.put(exc)
        finally:
            self.events.put(None)

    def write(self, key: str, page: P | None, next_url: str | None, what: str) -> None:
        if page is None:
            self.cursors[key] = next_url or ""
            if what == _NEW:
                self.started(key)
            return
        self.handle(key, page)
        if next_url:
            self.cursors[key] = next_url
        else:
            del self.cursors[key]

    def run(self, deadline: Deadline) -> bool:
        for index in range(self.workers):
            critical = self.critical if index == 0 else None
            threading.Thread(target=self.work, args=(critical,), name=f"pages_{index}", daemon=True).start()
        error: BaseException | None = None
        running = self.workers
        while running:
            event = self.events.get()
            if event is None:
                running -= 1
                continue
            if isinstance(event, BaseException):
                error = error or event
                self.stop.set()
                continue
            what, key, page, next_url = event
            try:
                if error is None:  # after a failure, only drain until every worker has stopped
                    self.write(key, page, next_url, what)
            except BaseException as exc:
                error = exc
                self.stop.set()
            finally:
                if what == _PAGE:
                    (self.critical_room if self.critical and key == self.critical[0] else self.room).release()
            if deadline.should_stop():
                self.stop.set()
        if error is not None:
            raise error
        return not self.stop.is_set()


def run_chains(
    fetch: Fetch[P],
    cursors: dict[str, str],
    handle: Callable[[str, P], None],
    deadline: Deadline,
    workers: int,
    more: Iterator[Chain] | None = None,
    started: Callable[[str], None] = lambda key: None,
    critical: str | None = None,
) -> bool:
    """Runs chains until all are exhausted (True) or the deadline asks to stop (False).

    `fetch(url, sent)` returns a page and the next page's URL, and calls `sent()` once its request is on the
    wire; `handle(key, page)` runs on the calling thread.
    `cursors` maps chain key → URL of its next page and is updated in place, on the calling thread. `more`
    supplies new chains (key, first URL) in order when a worker is free; `started(key)` runs on the calling
    thread once per new chain, in that order, before any of its pages is handled. `critical` names the chain
    that bounds the whole (see above), if it is among `cursors`.
    """
    return _Chains(fetch, cursors, handle, more or iter(()), started, workers, critical).run(deadline)
