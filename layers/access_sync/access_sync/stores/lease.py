"""Leases: at most one holder at a time, across threads, processes and Lambdas. Two uses: the token-refresh
lease (one Gusto refresh per credential) and the sync lease (one sync per connector, `sync#<connector>`).

`FileLease` is an exclusive `flock` on a lock file (local runs: the kernel drops it when its holder dies).
`DynamoLease` is a conditional write in the IdempotencyTable (AWS): an item that names its owner and
expires after a short `ttl`. While the lease is held, a heartbeat thread pushes the expiry forward every
`ttl / 3` seconds (a conditional update on the owner), so a live holder keeps it however long its work
takes, and a Lambda that dies holding it (timeout, crash) blocks the next refresh for at most `ttl`.

A waiter gives up with `LeaseBusy` (a transient error: the caller's retry tries again) after `wait`
seconds, which a caller with a deadline shortens per call: `hold(wait=remaining_seconds)`. The default
wait outlasts the ttl, so a waiter behind a dead holder gets the lease rather than an error. Every exit
from `hold()` (return, exception, interruption) stops the heartbeat and releases the lease.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from access_sync.errors import ConfigurationError, LeaseBusy, TransientError
from access_sync.observability import logger
from access_sync.stores.aws_clients import aws_client
from access_sync.stores.aws_errors import aws_code

# Sized to the callers' deadlines: the provisioning function has 120 s, so a dead holder's lease must be
# gone, and a waiter must have given up, well within that (the item is then retried by SQS).
DEFAULT_TTL = 30.0
# Longer than the ttl: a waiter behind a dead holder sees its lease expire before it gives up.
DEFAULT_WAIT = 45.0
# The table's TTL attribute: DynamoDB deletes expired items within days, so it is only housekeeping.
HOUSEKEEPING_SECONDS = 3600


class Lease(Protocol):
    def describe(self) -> str: ...

    def hold(self, wait: float | None = None) -> AbstractContextManager[None]:
        """Blocks until this caller holds the lease, or raises LeaseBusy after `wait` seconds (the lease's
        own default when None, and never longer than it); releases the lease on exit."""
        ...


def lease_key(connector: str, credential_id: str) -> str:
    """The lease's key in the IdempotencyTable: one lease per credential, shared by every function."""
    return f"lease#{connector}#{credential_id}"


def sync_lease_key(connector: str) -> str:
    """The sync lease's key in the IdempotencyTable: one sync per connector at a time."""
    return f"sync#{connector}"


def _busy(lease: Lease, waited: float) -> LeaseBusy:
    return LeaseBusy(f"Another process held {lease.describe()} for more than {waited:.0f} s; try again later.")


@dataclass
class Tenure:
    """One holding of a lease; `hand_over` keeps it for `owner` for `seconds` after this holding ends."""

    owner: str
    next_owner: str | None = None
    keep_seconds: float = 0.0

    def hand_over(self, owner: str, seconds: float) -> None:
        self.next_owner, self.keep_seconds = owner, seconds


def _bounded(default: float, wait: float | None) -> float:
    return default if wait is None else max(0.0, min(default, wait))


class FileLease:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        purpose: str = "token-refresh lock",
        wait: float = DEFAULT_WAIT,
        poll: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.purpose = purpose
        self.wait = wait
        self.poll = poll
        self._clock = clock
        self._sleep = sleep

    def describe(self) -> str:
        return f"the {self.purpose} {self.path}"

    @contextmanager
    def hold(self, wait: float | None = None) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Each hold opens its own descriptor: flock excludes other descriptors, so threads exclude each other too.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            self._acquire(fd, _bounded(self.wait, wait))
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _acquire(self, fd: int, wait: float) -> None:
        started = self._clock()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                waited = self._clock() - started
                if waited >= wait:
                    raise _busy(self, waited) from None
                self._sleep(self.poll)


class DynamoLease:
    """`clock` is epoch seconds (holders on different machines compare expiries); `sleep` paces a waiter's
    polls; `wait_or_stop(event, seconds)` paces the heartbeat and returns True once `event` is set."""

    def __init__(
        self,
        table: str,
        key: str,
        *,
        purpose: str = "token-refresh lease",
        ttl: float = DEFAULT_TTL,
        wait: float = DEFAULT_WAIT,
        poll: float = 0.25,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        wait_or_stop: Callable[[threading.Event, float], bool] = threading.Event.wait,
        client: Any = None,
    ) -> None:
        self.table = table
        self.key = key
        self.purpose = purpose
        self.ttl = ttl
        self.wait = wait
        self.poll = poll
        self.renew_every = ttl / 3
        self._clock = clock
        self._sleep = sleep
        self._wait_or_stop = wait_or_stop
        self._client = client

    def describe(self) -> str:
        return f"the {self.purpose} {self.key} in the table {self.table}"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    @contextmanager
    def hold(self, wait: float | None = None) -> Iterator[None]:
        owner = uuid.uuid4().hex
        self._acquire(owner, _bounded(self.wait, wait))
        with self._tenure(owner):
            yield

    @contextmanager
    def take(self, owner: str) -> Iterator[Tenure | None]:
        """Without waiting: the lease as `owner` (also when it was handed over to `owner`), or None while another
        owner holds it."""
        if not self._try_put(owner):
            yield None
            return
        with self._tenure(owner) as tenure:
            yield tenure

    @contextmanager
    def _tenure(self, owner: str) -> Iterator[Tenure]:
        tenure = Tenure(owner)
        stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(owner, stop), name=f"lease-heartbeat-{self.key}", daemon=True
        )
        try:
            heartbeat.start()
            yield tenure
        finally:
            stop.set()
            # A renewal still in flight cannot outlive the release: it is conditional on our owner id.
            if heartbeat.is_alive():
                heartbeat.join(timeout=self.renew_every)
            if tenure.next_owner is None or not self._hand_over(tenure):
                self._release(owner)

    def _acquire(self, owner: str, wait: float | None = None) -> None:
        wait = self.wait if wait is None else wait
        started = self._clock()
        logged = False
        while not self._try_put(owner):
            waited = self._clock() - started
            if waited >= wait:
                raise _busy(self, waited)
            if not logged:
                logger.info(f"waiting for the {self.purpose}", extra={"lease": self.key})
                logged = True
            self._sleep(min(self.poll, max(0.0, wait - waited)))

    def _expiry(self, now: float) -> dict[str, dict[str, str]]:
        return {
            ":expires": {"N": f"{now + self.ttl:.3f}"},
            ":housekeeping": {"N": str(int(now + self.ttl + HOUSEKEEPING_SECONDS))},
        }

    def _try_put(self, owner: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        now = self._clock()
        expiry = self._expiry(now)
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": self.key},
                    "owner": {"S": owner},
                    "lease_expires_at": expiry[":expires"],
                    "expiration": expiry[":housekeeping"],
                },
                # The same owner may take it again: a sync's next invocation, after a hand-over.
                ConditionExpression="attribute_not_exists(#id) OR #expires < :now OR #owner = :owner",
                ExpressionAttributeNames={"#id": "id", "#expires": "lease_expires_at", "#owner": "owner"},
                ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}, ":owner": {"S": owner}},
            )
        except (BotoCoreError, ClientError) as exc:
            if aws_code(exc) == "ConditionalCheckFailedException":
                return False
            raise self._failure(exc) from None
        return True

    def _heartbeat(self, owner: str, stop: threading.Event) -> None:
        while not self._wait_or_stop(stop, self.renew_every):
            if not self._renew(owner):
                return

    def _renew(self, owner: str) -> bool:
        """Pushes the expiry forward; False once the lease is no longer ours (the heartbeat then stops)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": self.key}},
                UpdateExpression="SET #expires = :expires, #housekeeping = :housekeeping",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={
                    "#owner": "owner",
                    "#expires": "lease_expires_at",
                    "#housekeeping": "expiration",
                },
                ExpressionAttributeValues={":owner": {"S": owner}, **self._expiry(self._clock())},
            )
        except (BotoCoreError, ClientError) as exc:
            code = aws_code(exc)
            if code == "ConditionalCheckFailedException":
                logger.warning(f"the {self.purpose} ran out while held and was taken", extra={"lease": self.key})
                return False
            # The next beat tries again; until the expiry the lease is still ours.
            logger.warning(f"could not renew the {self.purpose}", extra={"lease": self.key, "code": code})
        return True

    def _hand_over(self, tenure: Tenure) -> bool:
        """Leaves the lease to `tenure.next_owner` for `tenure.keep_seconds`; False (the caller then releases it,
        so that nobody waits behind it) when that fails."""
        from botocore.exceptions import BotoCoreError, ClientError

        now = self._clock()
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": self.key}},
                UpdateExpression="SET #owner = :next, #expires = :expires, #housekeeping = :housekeeping",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={
                    "#owner": "owner",
                    "#expires": "lease_expires_at",
                    "#housekeeping": "expiration",
                },
                ExpressionAttributeValues={
                    ":owner": {"S": tenure.owner},
                    ":next": {"S": str(tenure.next_owner)},
                    ":expires": {"N": f"{now + tenure.keep_seconds:.3f}"},
                    ":housekeeping": {"N": str(int(now + tenure.keep_seconds + HOUSEKEEPING_SECONDS))},
                },
            )
        except (BotoCoreError, ClientError) as exc:
            logger.warning(f"could not hand over the {self.purpose}", extra={"lease": self.key, "code": aws_code(exc)})
            return False
        return True

    def _release(self, owner: str) -> None:
        """Best effort: a lease that cannot be deleted expires within `ttl`, and raising here would hide the
        error (if any) that ended the holder's work."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"id": {"S": self.key}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except (BotoCoreError, ClientError) as exc:
            code = aws_code(exc)
            if code == "ConditionalCheckFailedException":
                # Held past its expiry and taken over: the other holder's lease is not ours to delete.
                logger.warning(f"the {self.purpose} expired before it was released", extra={"lease": self.key})
            else:
                logger.warning(
                    f"could not release the {self.purpose}; it expires within {self.ttl:.0f} s",
                    extra={"lease": self.key, "code": code},
                )

    def _failure(self, exc: Exception) -> Exception:
        code = aws_code(exc)
        if code in ("ResourceNotFoundException", "AccessDeniedException", "ValidationException"):
            return ConfigurationError(
                f"Cannot use the lease table {self.table} ({code}); check IDEMPOTENCY_TABLE and this role's "
                "DynamoDB access."
            )
        return TransientError(f"DynamoDB failed on the {self.purpose} ({code}); try again later.")
