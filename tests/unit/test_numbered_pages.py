"""run_numbered: every page after the first at once, handed over in order, and a stop that loses nothing."""

from __future__ import annotations

import itertools
import random
import threading
import time
from typing import Any

from access_sync.sync.deadline import Deadline
from access_sync.sync.numbered import NumberedPage, run_numbered

PER = 10


class Lists:
    """In-memory lists of numbered pages; answers after a random delay, so they arrive out of order."""

    def __init__(self, sizes: dict[str, int], *, announce: bool = True, seed: int = 3) -> None:
        self.sizes = sizes
        self.announce = announce
        self.requested: list[tuple[str, int]] = []
        self.in_flight = self.most_in_flight = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def page_number(self, url: str) -> int:
        return int(url.rpartition("=")[2])

    def page_url(self, url: str, number: int) -> str:
        return f"{url.partition('?')[0]}?page={number}"

    def numbered_page(self, url: str) -> NumberedPage:
        key, number = url.partition("?")[0], self.page_number(url)
        with self._lock:
            self.requested.append((key, number))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            delay = self._random.uniform(0, 0.004)
        time.sleep(delay)
        with self._lock:
            self.in_flight -= 1
        size = self.sizes[key]
        items = [{"list": key, "n": n} for n in range((number - 1) * PER, min(size, number * PER))]
        last = -(-size // PER) if self.announce else None
        return NumberedPage(items, last, full=len(items) == PER)


def first_pages(lists: Lists) -> dict[str, str]:
    return {key: f"{key}?page=1" for key in lists.sizes}


def sequential(sizes: dict[str, int]) -> list[dict[str, Any]]:
    return [{"list": key, "n": n} for key, size in sizes.items() for n in range(size)]


def stop_after(checks: int) -> Deadline:
    counter = itertools.count()
    return Deadline(lambda: 100.0 if next(counter) < checks else 0.0, margin=1.0)


def read(lists: Lists, cursors: dict[str, str], deadline: Deadline, workers: int = 4, **options: Any) -> list[Any]:
    written: list[dict[str, Any]] = []
    run_numbered(lists, cursors, lambda key, items: written.extend(items), deadline, workers, **options)
    return written


def test_pages_go_out_at_once_and_come_out_in_the_order_a_sequential_read_gives() -> None:
    sizes = {"admins": 3, "employees": 205, "contractors": 47, "empty": 0}
    lists = Lists(sizes)
    cursors = first_pages(lists)
    assert read(lists, cursors, Deadline.never()) == sequential(sizes)
    assert cursors == {}
    assert sorted(lists.requested) == sorted(set(lists.requested))  # no page twice
    assert len(lists.requested) == 1 + 21 + 5 + 1
    assert lists.most_in_flight == 4


def test_pages_waiting_for_the_writer_stay_within_twice_the_workers() -> None:
    lists = Lists({"employees": 500})
    waiting: list[int] = []

    def slow(key: str, items: list[dict[str, Any]]) -> None:
        waiting.append(len(lists.requested) - len(waiting) - 1)  # requested, not handled (this page excepted)
        time.sleep(0.002)

    run_numbered(lists, first_pages(lists), slow, Deadline.never(), 3)
    assert max(waiting) <= 2 * 3


def test_a_stop_hands_over_every_page_requested_and_a_resumed_read_requests_none_again() -> None:
    sizes = {"admins": 25, "employees": 403, "contractors": 88}
    lists = Lists(sizes)
    cursors = first_pages(lists)
    written: list[Any] = []
    for invocation in itertools.count():
        assert invocation < 100
        written += read(lists, cursors, stop_after(3), workers=3, leading="admins")
        if not cursors:
            break
        # The lists are handed over in order even across stops; the admins always in full before the rest.
        assert "admins" not in cursors
    assert sorted(lists.requested) == sorted(set(lists.requested))
    assert sorted(written, key=lambda item: (item["list"], item["n"])) == sorted(
        sequential(sizes), key=lambda item: (item["list"], item["n"])
    )


def test_a_leading_list_is_read_to_its_end_even_when_a_stop_comes_first() -> None:
    lists = Lists({"admins": 35, "employees": 100})
    cursors = first_pages(lists)
    written = read(lists, cursors, stop_after(0), workers=2, leading="admins")
    assert [item["n"] for item in written if item["list"] == "admins"] == list(range(35))
    assert "admins" not in cursors


def test_without_a_named_last_page_a_list_goes_on_until_a_page_is_short() -> None:
    sizes = {"employees": 30, "contractors": 7}
    lists = Lists(sizes, announce=False)
    assert read(lists, first_pages(lists), Deadline.never()) == sequential(sizes)
    # 30 items fill three pages, so a fourth (empty) one proves the end.
    assert sorted(lists.requested) == [("contractors", 1), *(("employees", n) for n in range(1, 5))]


def test_an_empty_page_before_the_named_end_ends_the_list() -> None:
    class Shrunk(Lists):
        def numbered_page(self, url: str) -> NumberedPage:
            page = super().numbered_page(url)
            return NumberedPage(page.items, 9, page.full)  # names 9 pages, has 3

    lists = Shrunk({"employees": 25})
    assert read(lists, first_pages(lists), Deadline.never()) == sequential({"employees": 25})
