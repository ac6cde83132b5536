"""A request-rate budget shared by every function of a stack: counters in the IdempotencyTable (AWS).

`RateWindow` (http/limits.py) keeps one process under a published quota, so two Lambda containers that
each keep to it can together send twice as much (Gusto allows 200 requests per rolling minute per app).
`SharedRateWindow` has the same `acquire()` and `limit`, and takes its requests from DynamoDB counters
that every process using the same key shares. The CLI keeps the per-process `RateWindow`.

How it holds: each `seconds`-long window is cut into `slots` slots (ten slots of 6 s for a minute), and
slot number n of a key has its own item, `<key>#<n>`. An atomic conditional UpdateItem raises the item's
`used` counter by a block of requests (`block`, 5 by default, so DynamoDB sees one call per five
requests) but never past the slot's quota, `limit // (slots + 1)`. Any window of `seconds` overlaps at
most `slots + 1` slots, so it carries at most `limit` requests, whichever processes sent them. A process
spends its block only within the slot it was taken for and drops what is left when the slot ends; when a
slot's quota is gone, `acquire()` sleeps until the next slot begins. The items carry the table's TTL
attribute, `expiration`, so DynamoDB deletes them later.

The price of the guarantee: a steady stream gets at most `slots / (slots + 1)` of `limit` (180 of 200 a
minute), and less when `limit` does not divide evenly. Slots follow each host's wall clock, which Lambda
keeps in step to within milliseconds. Every process sharing a key must use the same `limit`, `seconds`
and `slots`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from access_sync.errors import TransientError
from access_sync.http.limits import RateWindow, WaitNotice
from access_sync.stores.aws_clients import aws_client
from access_sync.stores.aws_errors import aws_code

# Expired slot items are only clutter: DynamoDB's TTL deletes them within days of this.
HOUSEKEEPING_SECONDS = 3600
# Wake a moment after a slot boundary, so that the clock reads the new slot.
_BOUNDARY_MARGIN = 0.001


def rate_key(service: str, credential_id: str) -> str:
    """The budget's key in the IdempotencyTable: one budget per app credential, e.g. `rate#gusto#<client_id>`."""
    return f"rate#{service}#{credential_id}"


class SharedRateWindow(RateWindow):
    """At most `limit` requests in any `seconds`-long window across all processes that share `key` in `table`.

    A subclass of RateWindow so that it goes wherever one goes (ApiClient's `rate`); it does not use the
    parent's in-process limiter. Thread-safe. `clock` is epoch seconds (processes on different hosts must
    agree on slot numbers); `sleep` waits for the next slot.
    """

    def __init__(
        self,
        table: str,
        key: str,
        limit: int,
        seconds: float = 60.0,
        *,
        slots: int = 10,
        block: int = 5,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        client: Any = None,
    ) -> None:
        if slots < 1 or block < 1 or seconds <= 0:
            raise ValueError("slots and block must be at least 1, and seconds more than 0")
        self.quota = limit // (slots + 1)
        if self.quota < 1:
            raise ValueError(f"a limit of {limit} leaves nothing for each of {slots + 1} slots; use fewer slots")
        self.table = table
        self.key = key
        self.limit = limit
        self.seconds = seconds
        self.slot_seconds = seconds / slots
        self.block = min(block, self.quota)
        self._clock = clock
        self._sleep = sleep
        self._client = client
        self._lock = threading.Lock()
        self._slot = -1
        self._tokens = 0  # taken for self._slot and not spent yet

    def describe(self) -> str:
        return f"the shared rate budget {self.key} in the table {self.table}"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def acquire(self, on_wait: WaitNotice | None = None) -> None:
        """Blocks until one more request is allowed; raises TransientError when DynamoDB fails."""
        with self._lock:
            while True:
                slot = self._slot_at(self._clock())
                if slot != self._slot:
                    self._slot, self._tokens = slot, 0
                if self._tokens == 0:
                    self._tokens = self._take(slot)
                    if self._slot_at(self._clock()) != slot:
                        continue  # the slot ended while we asked: its tokens may not be spent in the next
                if self._tokens > 0:
                    self._tokens -= 1
                    return
                pause = max(0.0, (slot + 1) * self.slot_seconds - self._clock()) + _BOUNDARY_MARGIN
                if on_wait:
                    on_wait(pause)
                self._sleep(pause)

    def _slot_at(self, now: float) -> int:
        return int(now // self.slot_seconds)

    def _take(self, slot: int) -> int:
        """Takes up to one block from the slot's quota; returns how many requests it got (0: none left)."""
        from botocore.exceptions import BotoCoreError, ClientError

        wanted = self.block
        expiration = int((slot + 1) * self.slot_seconds + self.seconds + HOUSEKEEPING_SECONDS)
        while wanted > 0:
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key={"id": {"S": f"{self.key}#{slot}"}},
                    UpdateExpression="ADD #used :wanted SET #expiration = :expiration",
                    ConditionExpression="attribute_not_exists(#used) OR #used <= :room",
                    ExpressionAttributeNames={"#used": "used", "#expiration": "expiration"},
                    ExpressionAttributeValues={
                        ":wanted": {"N": str(wanted)},
                        ":room": {"N": str(self.quota - wanted)},
                        ":expiration": {"N": str(expiration)},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return wanted
            except (BotoCoreError, ClientError) as exc:
                if aws_code(exc) != "ConditionalCheckFailedException":
                    raise self._failure(exc) from None
                # Less than a block is left: take what is (a smaller number each time round, so this ends).
                used = int(getattr(exc, "response", {}).get("Item", {}).get("used", {}).get("N", self.quota))
                wanted = min(wanted - 1, self.quota - used)
        return 0

    def _failure(self, exc: Exception) -> TransientError:
        code = aws_code(exc)
        if code in ("ResourceNotFoundException", "AccessDeniedException", "ValidationException"):
            return TransientError(
                f"Cannot use {self.describe()} ({code}); check IDEMPOTENCY_TABLE and this role's DynamoDB access."
            )
        return TransientError(f"DynamoDB failed on {self.describe()} ({code}); try again later.")
