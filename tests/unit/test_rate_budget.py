"""The shared rate budget: all processes of a stack together stay under one limit, through DynamoDB."""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from access_sync.errors import TransientError
from access_sync.http.client import ApiClient
from access_sync.http.limits import RateWindow
from access_sync.stores.rate_budget import SharedRateWindow, rate_key
from tests.gusto_support import START, FakeClock
from tests.helpers import create_idempotency_table

TABLE = "access-sync-idempotency"
KEY = rate_key("gusto", "gusto-client-id")


def create_table(client: Any) -> None:
    create_idempotency_table(client, TABLE)


@pytest.fixture
def dynamodb(aws: None) -> Iterator[Any]:
    client = boto3.client("dynamodb")
    create_table(client)
    yield client


class CountingCalls:
    """A DynamoDB client that counts UpdateItem calls (answered or refused)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.updates = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **kwargs: Any) -> Any:
        self.updates += 1
        return self._client.update_item(**kwargs)


class SlowFirstCall(CountingCalls):
    """The first UpdateItem answers only after the clock has moved on by `delay`."""

    def __init__(self, client: Any, clock: FakeClock, delay: float) -> None:
        super().__init__(client)
        self._clock = clock
        self._delay = delay

    def update_item(self, **kwargs: Any) -> Any:
        answer = super().update_item(**kwargs)
        if self.updates == 1:
            self._clock.advance(self._delay)
        return answer


class Unreachable:
    """A DynamoDB client whose every call fails before it reaches DynamoDB."""

    def update_item(self, **kwargs: Any) -> Any:
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


def container(clock: FakeClock, limit: int = 200, **options: Any) -> SharedRateWindow:
    """One Lambda container's view of the budget: its own DynamoDB client, the shared table and key."""
    return SharedRateWindow(
        TABLE, KEY, limit, 60.0, clock=clock, sleep=clock.sleep, client=boto3.client("dynamodb"), **options
    )


def most_in_any_window(sent: list[float], seconds: float) -> int:
    """The largest number of timestamps in any half-open window [t, t + seconds)."""
    ordered = sorted(sent)
    return max(bisect.bisect_left(ordered, t + seconds) - i for i, t in enumerate(ordered))


def slot_item(client: Any, slot: int) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(
        TableName=TABLE, Key={"id": {"S": f"{KEY}#{slot}"}}, ConsistentRead=True
    ).get("Item")
    return item


# ---------------------------------------------------------------------- the shared limit


def test_two_containers_sharing_the_table_never_exceed_the_limit_in_any_window(dynamodb: Any) -> None:
    clock = FakeClock()
    containers = [container(clock), container(clock)]
    choose = random.Random(15)
    sent: list[float] = []
    while clock.now - START < 600:  # ten minutes of two busy containers, in an arbitrary interleaving
        choose.choice(containers).acquire()
        sent.append(clock.now)
        clock.advance(choose.choice([0.0, 0.001, 0.02, 0.3]))
    assert most_in_any_window(sent, 60.0) <= 200
    # ... and they still get most of it: 18 requests per 6-second slot, less what a container still held of
    # a block when a slot ended.
    assert len(sent) >= 0.9 * 10 * 180


def test_two_containers_split_one_limit_between_them(dynamodb: Any) -> None:
    """What the shared budget prevents: two per-process windows would have sent 200 each."""
    clock = FakeClock()
    sent = {"a": 0, "b": 0}
    budgets = {"a": container(clock), "b": container(clock)}
    while clock.now - START < 60:
        for name, budget in budgets.items():
            budget.acquire()
            sent[name] += 1
        clock.advance(0.01)
    assert sent["a"] + sent["b"] <= 200
    assert min(sent.values()) >= 80  # and neither starved the other


def test_an_exhausted_slot_makes_acquire_sleep_until_the_next_one(dynamodb: Any) -> None:
    clock = FakeClock()  # START is a slot boundary
    budget = container(clock)
    assert (budget.quota, budget.slot_seconds) == (18, 6.0)
    for _ in range(18):
        budget.acquire()
    assert clock.now == START
    budget.acquire()
    assert clock.now == pytest.approx(START + 6.0, abs=0.01)


def test_tokens_come_in_blocks_of_five_so_dynamodb_sees_one_call_per_five_requests(dynamodb: Any) -> None:
    clock = FakeClock()
    calls = CountingCalls(dynamodb)
    budget = SharedRateWindow(TABLE, KEY, 1200, clock=clock, sleep=clock.sleep, client=calls)
    for _ in range(100):
        budget.acquire()
    assert calls.updates == 20
    item = slot_item(dynamodb, int(START // 6))
    assert item is not None and item["used"]["N"] == "100"


def test_the_last_requests_of_a_slot_are_shared_out_to_whoever_asks(dynamodb: Any) -> None:
    clock = FakeClock()
    first, second = container(clock), container(clock)
    for _ in range(15):  # three blocks of five
        first.acquire()
    for _ in range(3):  # only three are left in this slot: the second container gets exactly those
        second.acquire()
    assert clock.now == START
    item = slot_item(dynamodb, int(START // 6))
    assert item is not None and item["used"]["N"] == "18"
    second.acquire()
    assert clock.now > START


def test_what_is_left_of_a_block_is_not_spent_after_its_slot(dynamodb: Any) -> None:
    clock = FakeClock()
    budget = container(clock)
    budget.acquire()  # takes a block of five for this slot, spends one
    clock.advance(6.0)
    budget.acquire()  # a new slot: a new block, counted in the new slot
    first, second = slot_item(dynamodb, int(START // 6)), slot_item(dynamodb, int(START // 6) + 1)
    assert first is not None and first["used"]["N"] == "5"
    assert second is not None and second["used"]["N"] == "5"


def test_a_block_that_arrives_after_its_slot_ended_is_not_spent(dynamodb: Any) -> None:
    clock = FakeClock()
    calls = SlowFirstCall(dynamodb, clock, delay=6.5)
    SharedRateWindow(TABLE, KEY, 200, clock=clock, sleep=clock.sleep, client=calls).acquire()
    assert calls.updates == 2  # the late block was dropped and one was taken for the slot now running
    late, current = slot_item(dynamodb, int(START // 6)), slot_item(dynamodb, int(START // 6) + 1)
    assert late is not None and late["used"]["N"] == "5"
    assert current is not None and current["used"]["N"] == "5"


def test_slot_items_expire_through_the_tables_ttl_attribute(dynamodb: Any) -> None:
    clock = FakeClock()
    container(clock).acquire()
    item = slot_item(dynamodb, int(START // 6))
    assert item is not None
    assert int(item["expiration"]["N"]) > START + 60


def test_a_limit_too_small_for_the_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="fewer slots"):
        SharedRateWindow(TABLE, KEY, 10, slots=10)


# ---------------------------------------------------------------------- failures


def test_a_missing_table_is_one_transient_sentence(aws: None) -> None:
    budget = SharedRateWindow("no-such-table", KEY, 200, client=boto3.client("dynamodb"))
    with pytest.raises(TransientError) as caught:
        budget.acquire()
    message = caught.value.message
    assert "no-such-table" in message and "ResourceNotFoundException" in message
    assert message.count(". ") == 0 and message.endswith(".")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_unreachable_dynamodb_is_a_transient_error_not_a_botocore_one() -> None:
    budget = SharedRateWindow(TABLE, KEY, 200, client=Unreachable())
    with pytest.raises(TransientError, match=r"EndpointConnectionError.*try again later") as caught:
        budget.acquire()
    assert caught.value.exit_code == 6
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# ---------------------------------------------------------------------- where it goes


def test_a_shared_window_goes_wherever_a_rate_window_goes(dynamodb: Any) -> None:
    clock = FakeClock()
    budget = container(clock)
    assert isinstance(budget, RateWindow) and budget.limit == 200
    api = ApiClient(
        "Gusto",
        "http://gusto.test",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json={})),
        rate=budget,
    )
    try:
        for _ in range(7):
            api.send("GET", "v1/token_info")
    finally:
        api.close()
    item = slot_item(dynamodb, int(START // 6))
    assert item is not None and item["used"]["N"] == "10"  # two blocks taken for seven requests


def test_the_per_process_rate_window_still_limits_one_process() -> None:
    window = RateWindow(3, 0.5)
    started = time.monotonic()
    for _ in range(3):
        window.acquire()
    assert time.monotonic() - started < 0.25
    window.acquire()
    assert time.monotonic() - started >= 0.3
