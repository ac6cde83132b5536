"""run_chains: linked page chains fetched at once, the critical chain first in line, and a stop that loses nothing."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator

from access_sync.sync.deadline import Deadline
from access_sync.sync.pages import Chain, run_chains

CRITICAL = "members"


class Chains:
    """In-memory linked lists: page `key#n` names `key#n+1`; answers after a short random delay."""

    def __init__(self, pages: dict[str, int], *, delay: float = 0.003, critical_delay: float | None = None) -> None:
        self.pages = pages
        self.delay, self.critical_delay = delay, critical_delay
        self.fetched: dict[str, int] = dict.fromkeys(pages, 0)
        self.siblings_fetching = 0
        self.most_siblings: dict[bool, int] = {True: 0, False: 0}  # keyed by: was the critical chain still running
        self._random = random.Random(5)
        self._lock = threading.Lock()

    def critical_running(self) -> bool:
        return self.fetched.get(CRITICAL, 0) < self.pages.get(CRITICAL, 0)

    def fetch(self, url: str, sent: Callable[[], None]) -> tuple[list[str], str | None]:
        key, _, number = url.partition("#")
        sent()
        page = int(number)
        with self._lock:
            if key != CRITICAL:
                self.siblings_fetching += 1
                running = self.critical_running()
                self.most_siblings[running] = max(self.most_siblings[running], self.siblings_fetching)
            delay = self._random.uniform(0, self.delay)
        time.sleep(self.critical_delay if key == CRITICAL and self.critical_delay is not None else delay)
        with self._lock:
            self.fetched[key] += 1
            if key != CRITICAL:
                self.siblings_fetching -= 1
        following = f"{key}#{page + 1}" if page + 1 < self.pages[key] else None
        return [f"{key}:{page}"], following

    def everything(self) -> list[str]:
        return sorted(f"{key}:{page}" for key, count in self.pages.items() for page in range(count))


def groups(chains: Chains, start: int = 0) -> Iterator[Chain]:
    for key in sorted(chains.pages)[start:]:
        if key != CRITICAL:
            yield key, f"{key}#0"


def never() -> Deadline:
    return Deadline(lambda: 100.0, margin=1.0)


def run(chains: Chains, workers: int, handled: list[str] | None = None) -> list[str]:
    handled = [] if handled is None else handled
    cursors = {CRITICAL: f"{CRITICAL}#0"}

    def handle(key: str, page: list[str]) -> None:
        handled.extend(page)

    assert run_chains(chains.fetch, cursors, handle, never(), workers, groups(chains), critical=CRITICAL)
    assert cursors == {}
    return handled


def test_every_page_of_every_chain_is_handled_once_and_each_chain_in_order() -> None:
    chains = Chains({CRITICAL: 40, **{f"g{n:02}": 1 + n % 7 for n in range(30)}})
    handled = run(chains, workers=8)
    assert sorted(handled) == chains.everything()
    for key in chains.pages:
        mine = [int(item.partition(":")[2]) for item in handled if item.partition(":")[0] == key]
        assert mine == sorted(mine)


def test_the_other_chains_share_half_the_workers_until_the_critical_chain_ends_then_all() -> None:
    chains = Chains({CRITICAL: 10, **{f"g{n:02}": 3 for n in range(80)}}, delay=0.004, critical_delay=0.004)
    run(chains, workers=8)
    assert chains.most_siblings[True] == 4
    assert chains.most_siblings[False] == 8


def test_without_a_critical_chain_every_worker_takes_chains() -> None:
    chains = Chains({f"g{n:02}": 3 for n in range(40)})
    assert run_chains(chains.fetch, {}, lambda key, page: None, never(), 6, groups(chains), critical=CRITICAL)
    assert chains.most_siblings[False] == 6


def test_one_worker_fetches_the_critical_chain_first_then_the_others_one_at_a_time() -> None:
    chains = Chains({CRITICAL: 5, "g1": 3, "g2": 2})
    handled = run(chains, workers=1)
    assert handled == [f"{CRITICAL}:{n}" for n in range(5)] + ["g1:0", "g1:1", "g1:2", "g2:0", "g2:1"]


def test_the_critical_chain_keeps_fetching_while_other_pages_wait_for_the_writer() -> None:
    """Its pages have room of their own: a writer busy with other chains' pages does not stall it."""
    chains = Chains({CRITICAL: 6, **{f"g{n}": 20 for n in range(3)}}, delay=0.0, critical_delay=0.01)
    ahead = threading.Event()
    waited: list[bool] = []

    def handle(key: str, page: list[str]) -> None:
        if key != CRITICAL and not waited:  # the writer is stuck on the first other page it gets
            waited.append(ahead.wait(timeout=5))

    def watch() -> None:
        while chains.fetched[CRITICAL] < 3:
            time.sleep(0.001)
        ahead.set()

    threading.Thread(target=watch, daemon=True).start()
    cursors = {CRITICAL: f"{CRITICAL}#0"}
    assert run_chains(chains.fetch, cursors, handle, never(), 2, groups(chains), critical=CRITICAL)
    assert waited == [True]


def test_a_stop_then_a_resume_from_the_cursors_handles_every_page_exactly_once() -> None:
    chains = Chains({CRITICAL: 25, **{f"g{n:02}": 1 + n % 4 for n in range(20)}})
    handled: list[str] = []
    cursors = {CRITICAL: f"{CRITICAL}#0"}
    begun: list[str] = []
    checks = itertools.count()
    stopping = Deadline(lambda: 100.0 if next(checks) < 30 else 0.0, margin=1.0)

    def handle(key: str, page: list[str]) -> None:
        handled.extend(page)

    finished = run_chains(chains.fetch, cursors, handle, stopping, 6, groups(chains), begun.append, critical=CRITICAL)
    assert not finished and cursors
    others = sorted(key for key in chains.pages if key != CRITICAL)
    assert begun == others[: len(begun)]
    resumed = groups(chains, start=len(begun))  # the critical chain's key sorts after the others
    assert run_chains(chains.fetch, cursors, handle, never(), 6, resumed, critical=CRITICAL)
    assert sorted(handled) == chains.everything()
