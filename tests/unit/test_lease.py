"""The token-refresh lease: exclusive across threads and processes, never stuck behind a dead holder."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from access_sync.connectors.gusto.connector import gusto_refresh_lease
from access_sync.errors import ConfigurationError, LeaseBusy
from access_sync.stores.lease import DEFAULT_TTL, DEFAULT_WAIT, DynamoLease, FileLease, lease_key, sync_lease_key
from access_sync.stores.secrets import FileSecretStore, SecretsManagerStore
from access_sync_sim.gusto import GustoSimulator
from tests.gusto_support import START, FakeClock, captured_logs
from tests.helpers import create_idempotency_table

TABLE = "access-sync-idempotency"
PROVISIONING_TIMEOUT = 120.0  # ProvisioningFunction's Timeout in template.yaml: the shortest deadline of a holder
KEY = lease_key("gusto", "gusto-client-id")
SPAWN = multiprocessing.get_context("spawn")


def create_table(client: Any) -> None:
    create_idempotency_table(client, TABLE)


def lease_item(client: Any) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(TableName=TABLE, Key={"id": {"S": KEY}}, ConsistentRead=True).get(
        "Item"
    )
    return item


def lease_expires_at(client: Any) -> float:
    item = lease_item(client)
    assert item is not None
    return float(item["lease_expires_at"]["N"])


def heartbeat_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lease-heartbeat") and t.is_alive()]


class SteppedClock(FakeClock):
    """A fake clock that also paces the lease's heartbeat: a heartbeat pause ends once the test has moved
    time past it. `pauses` counts the pauses begun, so a test knows when the heartbeat is waiting again."""

    def __init__(self) -> None:
        super().__init__()
        self._moved = threading.Condition()
        self.pauses = 0

    def advance(self, seconds: float) -> None:
        with self._moved:
            self.now += seconds
            self._moved.notify_all()

    sleep = advance

    def wait_or_stop(self, stop: threading.Event, seconds: float) -> bool:
        with self._moved:
            until = self.now + seconds
            self.pauses += 1
            self._moved.notify_all()
            while not stop.is_set() and self.now < until:
                self._moved.wait(0.01)  # stop.set() does not notify this condition
        return stop.is_set()

    def await_pauses(self, count: int) -> None:
        with self._moved:
            assert self._moved.wait_for(lambda: self.pauses >= count, timeout=10), "the heartbeat stopped beating"


class FailingDeletes:
    """A DynamoDB client whose DeleteItem fails the way a throttled or unreachable DynamoDB does."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_item(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "DeleteItem")


def assert_exclusive(lease: FileLease | DynamoLease, threads: int = 8, rounds: int = 5) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(rounds):
            with lease.hold():
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.002)
                with guard:
                    inside -= 1

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert most == 1


# ---------------------------------------------------------------------- FileLease


def test_file_lease_excludes_threads(tmp_path: Path) -> None:
    assert_exclusive(FileLease(tmp_path / "gusto.json.lock", poll=0.001))


def test_file_lease_gives_up_with_lease_busy(tmp_path: Path) -> None:
    fake = FakeClock()
    path = tmp_path / "gusto.json.lock"
    waiter = FileLease(path, wait=5, poll=0.5, clock=fake, sleep=fake.sleep)
    with FileLease(path).hold(), pytest.raises(LeaseBusy) as caught, waiter.hold():
        pytest.fail("acquired a held lease")
    assert caught.value.exit_code == 6
    assert str(path) in caught.value.message
    assert fake.now - START == pytest.approx(5.0)
    with waiter.hold():  # released by its holder: free again
        pass


def _hold_file_lease(path: str, held: Any) -> None:
    with FileLease(path).hold():
        held.set()
        time.sleep(60)


def test_file_lease_waiter_gives_up_within_the_wait_its_caller_passes(tmp_path: Path) -> None:
    fake = FakeClock()
    path = tmp_path / "gusto.json.lock"
    waiter = FileLease(path, poll=0.5, clock=fake, sleep=fake.sleep)
    with FileLease(path).hold(), pytest.raises(LeaseBusy), waiter.hold(wait=3):
        pytest.fail("acquired a held lease")
    assert fake.now - START == pytest.approx(3.0)


def test_file_lease_of_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    path = tmp_path / "gusto.json.lock"
    held = SPAWN.Event()
    child = SPAWN.Process(target=_hold_file_lease, args=(str(path), held))
    child.start()
    try:
        assert held.wait(30)
        with pytest.raises(LeaseBusy), FileLease(path, wait=0.2).hold():
            pass
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(10)
        started = time.monotonic()
        with FileLease(path, wait=5).hold():
            assert time.monotonic() - started < 1.0
    finally:
        child.kill()
        child.join()


# ---------------------------------------------------------------------- DynamoLease


@pytest.fixture
def dynamodb(aws: None) -> Iterator[Any]:
    client = boto3.client("dynamodb")
    create_table(client)
    yield client


def test_dynamo_lease_writes_an_expiring_item_and_deletes_it(dynamodb: Any) -> None:
    fake = FakeClock()
    lease = DynamoLease(TABLE, KEY, ttl=30, clock=fake, sleep=fake.sleep, client=dynamodb)
    with lease.hold():
        item = lease_item(dynamodb)
        assert item is not None
        assert item["owner"]["S"]
        assert float(item["lease_expires_at"]["N"]) == pytest.approx(fake.now + 30)
        # The table's TTL attribute comes later: DynamoDB's deletion is housekeeping, not the lease's expiry.
        assert int(item["expiration"]["N"]) > float(item["lease_expires_at"]["N"])
    assert lease_item(dynamodb) is None


def test_dynamo_lease_waits_then_gives_up(dynamodb: Any) -> None:
    fake = FakeClock()
    holder = DynamoLease(TABLE, KEY, ttl=60, clock=fake, sleep=fake.sleep, client=dynamodb)
    waiter = DynamoLease(TABLE, KEY, ttl=60, wait=10, poll=1, clock=fake, sleep=fake.sleep, client=dynamodb)
    with holder.hold(), pytest.raises(LeaseBusy) as caught, waiter.hold():
        pytest.fail("acquired a held lease")
    assert KEY in caught.value.message
    assert fake.now - START == pytest.approx(10.0)


def test_dynamo_lease_of_a_crashed_holder_expires(dynamodb: Any) -> None:
    fake = FakeClock()
    crashed = DynamoLease(TABLE, KEY, ttl=20, clock=fake, sleep=fake.sleep, client=dynamodb)
    crashed._acquire("crashed-owner")  # and never released
    waiter = DynamoLease(TABLE, KEY, ttl=20, wait=60, poll=1, clock=fake, sleep=fake.sleep, client=dynamodb)
    started = fake.now
    with waiter.hold():
        assert 20 <= fake.now - started <= 22
        item = lease_item(dynamodb)
        assert item is not None and item["owner"]["S"] != "crashed-owner"


def test_a_dead_holders_lease_is_free_within_the_ttl_and_well_inside_the_provisioning_deadline(
    dynamodb: Any,
) -> None:
    fake = FakeClock()
    DynamoLease(TABLE, KEY, clock=fake, client=dynamodb)._acquire("timed-out-lambda")  # and never released
    waiter = DynamoLease(TABLE, KEY, clock=fake, sleep=fake.sleep, client=dynamodb)
    with waiter.hold():
        waited = fake.now - START
    assert waited <= DEFAULT_TTL + waiter.poll
    # A waiter never gives up before a dead holder's lease is gone, and either way it is done in time for
    # the provisioning function to refresh, or to fail the item so that SQS delivers it again.
    assert DEFAULT_TTL + waiter.poll < DEFAULT_WAIT <= PROVISIONING_TIMEOUT / 2


def test_a_live_holders_lease_is_renewed_past_its_ttl_so_nobody_takes_it(dynamodb: Any) -> None:
    clock = SteppedClock()
    holder = DynamoLease(
        TABLE, KEY, ttl=30, clock=clock, sleep=clock.sleep, wait_or_stop=clock.wait_or_stop, client=dynamodb
    )
    rival = DynamoLease(TABLE, KEY, ttl=30, wait=0, clock=clock, sleep=clock.sleep, client=dynamodb)
    with holder.hold():
        for beat in range(1, 8):  # 70 s of work: more than twice the ttl
            clock.await_pauses(beat)
            clock.advance(holder.renew_every)
            clock.await_pauses(beat + 1)  # the heartbeat renewed, then paused again
            assert lease_expires_at(dynamodb) == pytest.approx(clock.now + 30)
        assert clock.now - START > 2 * holder.ttl
        with pytest.raises(LeaseBusy), rival.hold():
            pytest.fail("took a lease its holder is still renewing")
    assert lease_item(dynamodb) is None
    assert heartbeat_threads() == []


def test_a_holder_whose_lease_was_taken_stops_renewing_and_leaves_the_new_lease_alone(dynamodb: Any) -> None:
    clock = SteppedClock()
    holder = DynamoLease(
        TABLE, KEY, ttl=30, clock=clock, sleep=clock.sleep, wait_or_stop=clock.wait_or_stop, client=dynamodb
    )
    with captured_logs() as logs, holder.hold():
        clock.await_pauses(1)
        # The holder stalled past its ttl (no renewal got through) and another process took the lease.
        clock.now += 31
        DynamoLease(TABLE, KEY, ttl=30, clock=clock, client=dynamodb)._acquire("new-owner")
        clock.advance(0)
        for _ in range(500):
            if not heartbeat_threads():
                break
            time.sleep(0.01)
        assert heartbeat_threads() == []
    item = lease_item(dynamodb)
    assert item is not None and item["owner"]["S"] == "new-owner"
    assert "taken" in logs.getvalue()


@pytest.mark.parametrize("error", [RuntimeError("the refresh failed"), KeyboardInterrupt()], ids=type)
def test_the_lease_is_released_on_every_exit_path(dynamodb: Any, error: BaseException) -> None:
    fake = FakeClock()
    lease = DynamoLease(TABLE, KEY, clock=fake, sleep=fake.sleep, client=dynamodb)
    with pytest.raises(type(error)), lease.hold():
        assert lease_item(dynamodb) is not None
        raise error
    assert lease_item(dynamodb) is None
    assert heartbeat_threads() == []


def test_a_release_that_fails_does_not_hide_the_holders_own_error(dynamodb: Any) -> None:
    fake = FakeClock()
    lease = DynamoLease(TABLE, KEY, ttl=30, clock=fake, sleep=fake.sleep, client=FailingDeletes(dynamodb))
    with captured_logs() as logs, pytest.raises(RuntimeError, match="the refresh failed"), lease.hold():
        raise RuntimeError("the refresh failed")
    assert "could not release the token-refresh lease; it expires within 30 s" in logs.getvalue()
    with lease.hold():  # nor does it fail a holder whose work succeeded
        pass
    assert heartbeat_threads() == []


def test_a_waiter_gives_up_within_the_wait_its_caller_passes(dynamodb: Any) -> None:
    fake = FakeClock()
    holder = DynamoLease(TABLE, KEY, ttl=3600, clock=fake, sleep=fake.sleep, client=dynamodb)
    waiter = DynamoLease(TABLE, KEY, poll=1, clock=fake, sleep=fake.sleep, client=dynamodb)
    with holder.hold():
        started = fake.now
        with pytest.raises(LeaseBusy), waiter.hold(wait=7.5):  # e.g. what is left of a Lambda's time
            pytest.fail("acquired a held lease")
        assert fake.now - started == pytest.approx(7.5)
        started = fake.now
        with pytest.raises(LeaseBusy), waiter.hold(wait=10 * DEFAULT_WAIT):  # never longer than its own wait
            pytest.fail("acquired a held lease")
        assert fake.now - started == pytest.approx(DEFAULT_WAIT)


def test_a_late_release_leaves_the_next_holders_lease_alone(dynamodb: Any) -> None:
    fake = FakeClock()
    slow = DynamoLease(TABLE, KEY, ttl=5, clock=fake, sleep=fake.sleep, client=dynamodb)
    other = DynamoLease(TABLE, KEY, ttl=5, wait=30, poll=1, clock=fake, sleep=fake.sleep, client=dynamodb)
    with slow.hold():
        fake.sleep(6)  # the slow holder overruns its lease
        other._acquire("next-owner")
    item = lease_item(dynamodb)
    assert item is not None and item["owner"]["S"] == "next-owner"


class AtomicItemWrites:
    """Real DynamoDB evaluates a condition and writes the item atomically; moto's in-process backend checks
    and then writes, so two threads can both pass. Serialising the calls restores DynamoDB's guarantee,
    which is what the lease relies on."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


def test_dynamo_lease_excludes_threads(dynamodb: Any) -> None:
    client = AtomicItemWrites(dynamodb)
    assert_exclusive(DynamoLease(TABLE, KEY, ttl=30, poll=0.001, client=client), threads=4, rounds=3)


def test_missing_table_is_a_configuration_error(aws: None) -> None:
    with pytest.raises(ConfigurationError) as caught, DynamoLease("no-such-table", KEY).hold():
        pass
    assert "no-such-table" in caught.value.message


def _hold_dynamo_lease(endpoint: str, held: Any) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    DynamoLease(TABLE, KEY, ttl=1.5, client=client)._acquire("doomed-child")
    held.set()
    time.sleep(60)


def test_dynamo_lease_of_a_killed_process_expires() -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        create_table(client)
        held = SPAWN.Event()
        child = SPAWN.Process(target=_hold_dynamo_lease, args=(endpoint, held))
        child.start()
        try:
            assert held.wait(30)
            os.kill(child.pid or 0, signal.SIGKILL)
            child.join(10)
            with pytest.raises(LeaseBusy), DynamoLease(TABLE, KEY, wait=0.2, poll=0.05, client=client).hold():
                pass
            started = time.monotonic()
            with DynamoLease(TABLE, KEY, wait=10, poll=0.05, client=client).hold():
                assert time.monotonic() - started < 3.0
        finally:
            child.kill()
            child.join()
    finally:
        server.stop()


# ---------------------------------------------------------------------- which lease a Gusto connection gets


def test_the_factory_picks_the_lease_for_where_the_credentials_live(aws: None, tmp_path: Path) -> None:
    credentials = GustoSimulator().issue_credentials()
    path = tmp_path / "gusto.json"
    path.write_text(json.dumps(credentials))
    boto3.client("secretsmanager").create_secret(Name="gusto", SecretString=json.dumps(credentials))

    local = gusto_refresh_lease(FileSecretStore(path))
    assert isinstance(local, FileLease) and local.path == tmp_path / "gusto.json.lock"

    # By name here, by ARN in the functions: one lease either way, keyed by the app's client id.
    on_aws = gusto_refresh_lease(SecretsManagerStore("gusto"), TABLE)
    assert isinstance(on_aws, DynamoLease) and on_aws.key == f"lease#gusto#{credentials['client_id']}"

    with captured_logs() as logs:
        tableless = gusto_refresh_lease(SecretsManagerStore("gusto"))
    assert isinstance(tableless, FileLease) and tableless.path.name.startswith("access-sync-gusto-")
    assert "no lease table" in logs.getvalue()


# ---------------------------------------------------------------------- the sync lease (take and hand over)

SYNC_KEY = sync_lease_key("guru")


def sync_lease(dynamodb: Any, clock: FakeClock) -> DynamoLease:
    return DynamoLease(TABLE, SYNC_KEY, purpose="sync lease", clock=clock, sleep=clock.sleep, client=dynamodb)


def sync_item(client: Any) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(TableName=TABLE, Key={"id": {"S": SYNC_KEY}}).get("Item")
    return item


def test_a_sync_lease_is_taken_without_waiting_and_refused_to_another_owner(dynamodb: Any) -> None:
    fake = FakeClock()
    with sync_lease(dynamodb, fake).take("first") as held:
        assert held is not None
        with sync_lease(dynamodb, fake).take("second") as refused:
            assert refused is None
    assert fake.now == START and sync_item(dynamodb) is None  # no wait, and released on exit


def test_a_handed_over_sync_lease_is_kept_for_its_next_owner_only(dynamodb: Any) -> None:
    fake = FakeClock()
    with sync_lease(dynamodb, fake).take("fresh-run") as held:
        assert held is not None
        held.hand_over("20261201T080000Z-9b54ddbd", 900)
    item = sync_item(dynamodb)
    assert item is not None and item["owner"]["S"] == "20261201T080000Z-9b54ddbd"
    assert float(item["lease_expires_at"]["N"]) == pytest.approx(fake.now + 900)

    fake.advance(120)  # the state machine's pause between two invocations
    with sync_lease(dynamodb, fake).take("another-scheduled-run") as refused:
        assert refused is None
    with sync_lease(dynamodb, fake).take("20261201T080000Z-9b54ddbd") as resumed:
        assert resumed is not None  # the same sync takes it back
    assert sync_item(dynamodb) is None


def test_a_handed_over_sync_lease_nobody_takes_back_expires(dynamodb: Any) -> None:
    fake = FakeClock()
    with sync_lease(dynamodb, fake).take("fresh-run") as held:
        assert held is not None
        held.hand_over("abandoned-sync", 900)
    fake.advance(901)
    with sync_lease(dynamodb, fake).take("next-schedule") as held:
        assert held is not None


class _HandOverFails:
    """A DynamoDB client whose hand-over update is throttled; everything else goes through."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def update_item(self, **kwargs: Any) -> Any:
        if ":next" in kwargs["ExpressionAttributeValues"]:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")
        return self.client.update_item(**kwargs)


def test_a_hand_over_that_fails_releases_the_lease_so_nobody_waits_behind_it(dynamodb: Any) -> None:
    fake = FakeClock()
    lease = DynamoLease(TABLE, SYNC_KEY, clock=fake, sleep=fake.sleep, client=_HandOverFails(dynamodb))
    with lease.take("fresh-run") as held:
        assert held is not None
        held.hand_over("next", 900)
    assert sync_item(dynamodb) is None
