"""Lists with numbered pages whose every answer says which page is the last (Gusto's `X-Total-Pages`).

The first page requested of each list (page 1, or the page a resumed sync stopped at) goes out at once for
every list; as soon as one arrives, every page up to the last it names is requested too, by a pool of
`workers` threads. The calling thread is the only writer: it hands pages to `handle` strictly in order (the
lists in the order of `cursors`, each list page after page), so the records come out exactly as a sequential
read would write them, and it moves a list's cursor past page N only once pages up to N were handled.

Pages requested but not yet handled stay within a window of twice the workers, so memory stays bounded
however long the lists are (the page the writer needs next is always requested, window or not).

When an answer does not name a usable last page (the header is missing, unreadable or below the page it came
with), that list goes on one page at a time until a page comes back short. A page that comes back empty
before the announced end ends its list, and a later answer that names a different last page wins, so a list
that grew or shrank while being read is still read to its real end.

When the deadline asks to stop, nothing more is requested; the pages already on their way arrive and every
list's pages are handled as far as they go without a gap, so a resumed sync requests none of them again. A
`leading` list is read in full even then: the lists after it are written only once it is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from access_sync.sync.deadline import Deadline

Items = list[dict[str, Any]]


@dataclass(frozen=True)
class NumberedPage:
    items: Items
    last: int | None  # the list's last page number, as this answer names it; None when it does not say
    full: bool  # as many items as a page holds: without `last`, a page that is not full is the list's last


def usable_last(number: int, page: NumberedPage) -> int | None:
    """The last page `page` names, unless it names none or one before its own number `number`."""
    return page.last if page.last is not None and page.last >= number else None


def is_last(number: int, page: NumberedPage) -> bool:
    """Whether page `number` ends its list: it is the last one named, or empty, or (none named) not full."""
    if usable_last(number, page) is None:
        return not page.full
    return number >= (page.last or 0) or not page.items


class NumberedPages(Protocol):
    """What a client offers for such lists: a page by URL, and the URL of another page of the same list."""

    def page_number(self, url: str) -> int: ...

    def page_url(self, url: str, number: int) -> str: ...

    def numbered_page(self, url: str) -> NumberedPage: ...


@dataclass
class _List:
    key: str
    url: str  # of the next page to hand to the writer
    number: int  # that page's number
    last: int | None = None  # as the latest answer handled or seen named it
    requested: dict[int, Future[NumberedPage]] = field(default_factory=dict)  # page number → its answer
    done: bool = False

    def ends_at(self, page: NumberedPage) -> bool:
        """Whether the page just handled (number `self.number`) is the list's last."""
        self.last = usable_last(self.number, page)
        return is_last(self.number, page)

    def wanted(self) -> range:
        """Page numbers the answers so far say exist and that are not requested yet."""
        if self.done or self.last is None:
            return range(0)
        return range(max(self.number, max(self.requested, default=0) + 1), self.last + 1)


class _Reader:
    def __init__(
        self,
        pages: NumberedPages,
        cursors: dict[str, str],
        handle: Callable[[str, Items], None],
        pool: ThreadPoolExecutor,
        window: int,
    ) -> None:
        self.pages, self.cursors, self.handle, self.pool, self.window = pages, cursors, handle, pool, window
        self.lists = [_List(key, url, pages.page_number(url)) for key, url in cursors.items()]
        self.stopping = False
        self.leading: _List | None = None

    def request(self, lst: _List, number: int) -> None:
        url = self.pages.page_url(lst.url, number) if number != lst.number else lst.url
        lst.requested[number] = self.pool.submit(self.pages.numbered_page, url)

    def in_window(self) -> int:
        return sum(len(lst.requested) for lst in self.lists)

    def request_more(self) -> None:
        """Learns from answers already in which pages exist, then requests them: lists in order, up to the window."""
        for lst in self.lists:
            first = lst.requested.get(lst.number)
            if lst.last is None and first is not None and first.done() and first.exception() is None:
                lst.last = usable_last(lst.number, first.result())
        for lst in self.lists:
            if self.stopping and lst is not self.leading:
                continue
            for number in lst.wanted():
                if self.in_window() >= self.window:
                    return
                self.request(lst, number)

    def next_page(self, lst: _List) -> NumberedPage:
        """The page the writer needs next; while it is on its way, other lists' first answers fan out."""
        if lst.number not in lst.requested:
            self.request(lst, lst.number)  # outside the window: the writer cannot go on without it
        needed = lst.requested[lst.number]
        while not needed.done():
            self.request_more()
            wait([needed, *self.unread_first_pages()], return_when=FIRST_COMPLETED)
        del lst.requested[lst.number]
        return needed.result()

    def unread_first_pages(self) -> list[Future[NumberedPage]]:
        """Answers still on their way that would say how many pages their list has."""
        return [
            first
            for lst in self.lists
            if lst.last is None and (first := lst.requested.get(lst.number)) is not None and not first.done()
        ]

    def write(self, lst: _List, page: NumberedPage) -> None:
        self.handle(lst.key, page.items)
        if lst.ends_at(page):
            lst.done = True
            del self.cursors[lst.key]
            for stale in lst.requested.values():  # beyond the real end: a list that shrank while being read
                stale.cancel()
            lst.requested.clear()
        else:
            lst.number += 1
            lst.url = self.pages.page_url(lst.url, lst.number)
            self.cursors[lst.key] = lst.url

    def run(self, deadline: Deadline, opening: Callable[[], None] | None) -> bool:
        for lst in self.lists:
            self.request(lst, lst.number)
        if opening is not None:
            opening()
        for lst in self.lists:
            while not lst.done and (not self.stopping or lst is self.leading):
                self.write(lst, self.next_page(lst))
                self.request_more()
                if not self.stopping and deadline.should_stop():
                    self.stop()
            if self.stopping and not lst.done:
                self.drain(lst)
        return all(lst.done for lst in self.lists)

    def stop(self) -> None:
        """No more requests, except to finish a leading list still being read."""
        self.stopping = True
        for lst in self.lists:
            if lst is self.leading:
                continue
            # The pool starts requests in the order they were made, and each list's go in page order, so the
            # ones not sent yet are each list's highest: dropping them leaves no gap below.
            for number in sorted(lst.requested, reverse=True):
                if lst.requested[number].cancel():
                    del lst.requested[number]

    def drain(self, lst: _List) -> None:
        """Hands over the pages that arrived for `lst`, from its cursor up to the first one not requested."""
        while not lst.done and lst.number in lst.requested:
            self.write(lst, self.next_page(lst))


def run_numbered(
    pages: NumberedPages,
    cursors: dict[str, str],
    handle: Callable[[str, Items], None],
    deadline: Deadline,
    workers: int,
    *,
    leading: str | None = None,
    opening: Callable[[], None] | None = None,
) -> bool:
    """Reads every list to its end (True) or until the deadline asks to stop (False).

    `cursors` maps list key → URL of the next page to handle, in the order the lists are written, and is
    updated in place on the calling thread: a list's key goes once its last page was handled. `opening`
    runs on the calling thread while the first pages are on their way, before any page is handled.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pages") as pool:
        reader = _Reader(pages, cursors, handle, pool, window=2 * max(1, workers))
        reader.leading = next((lst for lst in reader.lists if lst.key == leading), None)
        try:
            return reader.run(deadline, opening)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
