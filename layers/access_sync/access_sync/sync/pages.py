"""Fetching several paged lists at once while one thread writes every record.

A *chain* is one paged list (Guru's members, one group's members): its pages come one after another,
because each page names the next. Different chains are independent, so up to `workers` pages of
different chains are fetched concurrently. Continuing chains go first, so a long chain (the critical
path) is never starved by new short ones. Cursors are updated only after a page was handled, so they
can be saved in a checkpoint at any point between pages.
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
    chains (key, first URL) when there is room, and None when there are no more.
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
            for future in done:
                key = in_flight.pop(future)
                items, next_url = future.result()
                handle(key, items)
                if next_url:
                    cursors[key] = next_url
                    ready.appendleft(key)
                else:
                    del cursors[key]
            stopping = stopping or deadline.should_stop()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
