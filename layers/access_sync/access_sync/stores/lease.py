"""The token-refresh lease: at most one holder per credential, across threads, processes and Lambdas (DESIGN §6).

`FileLease` is an exclusive `flock` on a lock file (local runs: the kernel drops it when its holder dies).
`DynamoLease` is a conditional write in the IdempotencyTable (AWS): an item that names its owner and
expires, so a crashed Lambda blocks the next refresh for at most `ttl` seconds. Waiting for a busy
lease gives up with `LeaseBusy` (a transient error: the next run will try again).
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from access_sync.errors import ConfigurationError, LeaseBusy, TransientError
from access_sync.observability import logger
from access_sync.stores.aws_errors import aws_code

# A refresh under the lease is a fresh secret read, at most two token requests and a secret write; a
# holder that is still busy after `ttl` is presumed dead. Waiters wait a bit longer than that.
DEFAULT_TTL = 180.0
DEFAULT_WAIT = 240.0
# The table's TTL attribute: DynamoDB deletes expired items within days, so it is only housekeeping.
HOUSEKEEPING_SECONDS = 3600


class Lease(Protocol):
    def describe(self) -> str: ...

    def hold(self) -> AbstractContextManager[None]:
        """Blocks until this caller holds the lease (or raises LeaseBusy); releases it on exit."""
        ...


def lease_key(connector: str, credential_id: str) -> str:
    """The lease's key in the IdempotencyTable: one lease per credential, shared by every function."""
    return f"lease#{connector}#{credential_id}"


def _busy(lease: Lease, waited: float) -> LeaseBusy:
    return LeaseBusy(
        f"Another process held {lease.describe()} for more than {waited:.0f} s while refreshing the Gusto "
        "token; try again later."
    )


class FileLease:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        wait: float = DEFAULT_WAIT,
        poll: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.wait = wait
        self.poll = poll
        self._clock = clock
        self._sleep = sleep

    def describe(self) -> str:
        return f"the lock file {self.path}"

    @contextmanager
    def hold(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Each hold opens its own descriptor: flock excludes other descriptors, so threads exclude each other too.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            self._acquire(fd)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _acquire(self, fd: int) -> None:
        started = self._clock()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                waited = self._clock() - started
                if waited >= self.wait:
                    raise _busy(self, waited) from None
                self._sleep(self.poll)


class DynamoLease:
    def __init__(
        self,
        table: str,
        key: str,
        *,
        ttl: float = DEFAULT_TTL,
        wait: float = DEFAULT_WAIT,
        poll: float = 0.25,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        client: Any = None,
    ) -> None:
        self.table = table
        self.key = key
        self.ttl = ttl
        self.wait = wait
        self.poll = poll
        self._clock = clock
        self._sleep = sleep
        self._client = client

    def describe(self) -> str:
        return f"the lease {self.key} in the table {self.table}"

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    @contextmanager
    def hold(self) -> Iterator[None]:
        owner = uuid.uuid4().hex
        self._acquire(owner)
        try:
            yield
        finally:
            self._release(owner)

    def _acquire(self, owner: str) -> None:
        started = self._clock()
        logged = False
        while not self._try_put(owner):
            waited = self._clock() - started
            if waited >= self.wait:
                raise _busy(self, waited)
            if not logged:
                logger.info("waiting for the token-refresh lease", extra={"lease": self.key})
                logged = True
            self._sleep(self.poll)

    def _try_put(self, owner: str) -> bool:
        from botocore.exceptions import ClientError

        now = self._clock()
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": self.key},
                    "owner": {"S": owner},
                    "lease_expires_at": {"N": f"{now + self.ttl:.3f}"},
                    "expiration": {"N": str(int(now + self.ttl + HOUSEKEEPING_SECONDS))},
                },
                ConditionExpression="attribute_not_exists(#id) OR #expires < :now",
                ExpressionAttributeNames={"#id": "id", "#expires": "lease_expires_at"},
                ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}},
            )
        except ClientError as exc:
            if aws_code(exc) == "ConditionalCheckFailedException":
                return False
            raise self._failure(exc) from None
        return True

    def _release(self, owner: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"id": {"S": self.key}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if aws_code(exc) != "ConditionalCheckFailedException":
                raise self._failure(exc) from None
            # Held past its expiry and taken over: the other holder's lease is not ours to delete.
            logger.warning("the token-refresh lease expired before it was released", extra={"lease": self.key})

    def _failure(self, exc: Exception) -> Exception:
        code = aws_code(exc)
        if code in ("ResourceNotFoundException", "AccessDeniedException", "ValidationException"):
            return ConfigurationError(
                f"Cannot use the lease table {self.table} ({code}); check IDEMPOTENCY_TABLE and this role's "
                "DynamoDB access."
            )
        return TransientError(f"DynamoDB failed on the token-refresh lease ({code}); try again later.")
