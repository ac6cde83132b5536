"""Fetching several paged lists at once while one thread writes every record.

A *chain* is one paged list (Guru's members, one group's members): its pages come one after another,
because each page names the next. Different chains are independent, so up to `workers` pages of
different chains are fetched concurrently. A chain's next page is requested as soon as its current
page arrives, before that page is written, so a long chain (the critical path, e.g. Guru's /members)
never waits for the writer or for new short chains. When asked to stop, no new page is requested and
every page already in flight is written first, so the returned cursors are exact for a checkpoint.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from access_sync.sync.deadline import Deadline

Page = tuple[list[dict[str, Any]], str | None]


def run_chains(
    fetch: Callable[[str], Page],
    cursors: dict[str, str],
    handle: Callable[[str, list[dict[str, Any]]], None],
    deadline: Deadline,
    workers: int,
    more: Callable[[], tuple[str, str] | None] = lambda: None,
) -> bool:
    """Runs chains until all are exhausted (True) or the deadline asks to stop (False).

    `cursors` maps chain key → URL of its next page and is updated in place; `more()` supplies new
    chains (key, first URL) when there is room, and None when there are no more. A cursor may point at a
    page in flight; every page in flight is fetched and handled before this returns, so the cursors are
    right whenever it returns.
    """
    ready = deque(cursors)
    in_flight: dict[Future[Page], str] = {}
    stopping = False
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pages")
    try:
        while True:
            while not stopping and len(in_flight) < workers:
                if not ready and (new := more()):
                    cursors[new[0]] = new[1]
                    ready.append(new[0])
                if not ready:
                    break
                key = ready.popleft()
                in_flight[pool.submit(fetch, cursors[key])] = key
            if not in_flight:
                return not stopping
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            pages = []
            for future in done:
                key = in_flight.pop(future)
                items, next_url = future.result()
                if next_url:
                    cursors[key] = next_url
                    if stopping:
                        ready.append(key)
                    else:
                        # Ask for the next page before writing this one: a chain never waits on the writer.
                        in_flight[pool.submit(fetch, next_url)] = key
                else:
                    del cursors[key]
                pages.append((key, items))
            for key, items in pages:
                handle(key, items)
            stopping = stopping or deadline.should_stop()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
