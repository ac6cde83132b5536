"""GustoSyncFunction end to end: the real handler, moto for AWS, the strict Gusto simulator on a loopback port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest

from access_sync.connectors.gusto.tokens import TokenManager
from access_sync.errors import ReauthorizationRequired
from access_sync.stores.lease import DynamoLease, lease_key
from access_sync.stores.secrets import SecretsManagerStore
from access_sync_sim.base import Faults
from access_sync_sim.gusto import CLIENT_SECRET, GustoSimulator
from tests.gusto_support import EXPIRED, assert_no_secrets
from tests.helpers import LocalLambdaContext, load_event, load_handler_module
from tests.integration.conftest import latest_snapshot, snapshot_content, store_secret

Handler = Callable[[dict[str, Any], LocalLambdaContext], dict[str, Any]]
SECRET = "access-sync/gusto"
STEP = 180.0  # each API request ages Gusto's clock by three minutes: the one-hour tokens die mid-sync (yet outlive
# the 16 requests a sync has in flight at once, as real two-hour tokens outlive any burst)


class JumpyClock:
    """Real time plus an offset that grows with every API request Gusto serves."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self.offset

    def step(self) -> None:
        with self._lock:
            self.offset += STEP


@pytest.fixture
def gusto(monkeypatch: pytest.MonkeyPatch) -> GustoSimulator:
    clock = JumpyClock()
    # More pages than a sync keeps on their way at once (32), so a stop leaves some unread.
    sim = GustoSimulator(employees=4300, contractors=120, admins=5, access_token_ttl=3600, clock=clock)
    route = sim.route

    def aging(request: httpx.Request) -> httpx.Response:
        response = route(request)
        if request.url.path.startswith("/v1/"):
            clock.step()
        return response

    monkeypatch.setattr(sim, "route", aging)
    return sim


@pytest.fixture
def secret_arn(aws: None, gusto: GustoSimulator) -> str:
    return store_secret(SECRET, {**gusto.issue_credentials(), "access_token_expires_at": EXPIRED})


@pytest.fixture
def handler(
    bucket: str, table: str, secret_arn: str, gusto: GustoSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Handler]:
    with gusto.serve() as root:
        monkeypatch.setenv("SNAPSHOT_BUCKET", bucket)
        monkeypatch.setenv("GUSTO_SECRET_ID", secret_arn)
        monkeypatch.setenv("IDEMPOTENCY_TABLE", table)
        monkeypatch.setenv("GUSTO_BASE_URL", root)
        yield load_handler_module("gusto_sync").handler


def secret_value() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"])
    return value


def test_two_scheduled_syncs_in_a_row_and_the_connection_stays_alive(
    handler: Handler, gusto: GustoSimulator, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first_pair = secret_value()
    first = handler(load_event("gusto_sync_schedule.json"), LocalLambdaContext())
    gusto.faults = Faults(script=[429, 503, "drop", 502, 429], retry_after=0)
    second = handler(load_event("gusto_sync_schedule.json"), LocalLambdaContext())

    assert first["status"] == second["status"] == "complete"
    assert first["sync_id"] != second["sync_id"]
    snapshot = latest_snapshot("gusto")
    assert snapshot.manifest.sync_id == second["sync_id"]
    assert snapshot.manifest.counts.model_dump() == gusto.expected_counts()
    assert snapshot.manifest.connector == "gusto" and snapshot.manifest.version == 2
    resources = {(record["resource_type"], record["id"]) for record in snapshot.records("resources")}
    for grant in snapshot.records("grants"):
        assert grant["entitlement"] == f"company:{gusto.company_uuid}:admin"
        assert (grant["principal"]["resource_type"], grant["principal"]["id"]) in resources
    # One refresh per run at least (the stored token had expired), more as Gusto's clock outran the tokens.
    assert gusto.refresh_count >= 4

    pair = secret_value()
    assert gusto.refresh_token_valid(pair["refresh_token"])
    assert not gusto.refresh_token_valid(first_pair["refresh_token"])
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    assert [item for item in items if not item["id"]["S"].startswith("rate#")] == []  # no lease left behind
    assert items, "the functions' shared Gusto rate budget lives in the same table"

    # The stored refresh token still works: a later run (here, a bare token manager) can refresh with it.
    boto3.client("secretsmanager").put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({**pair, "access_token_expires_at": EXPIRED})
    )
    before = gusto.refresh_count
    with gusto.serve() as root:
        tokens = TokenManager(
            SecretsManagerStore(SECRET), DynamoLease(table, lease_key("gusto", "manual")), base_url=root
        )
        tokens.access_token()
        tokens.close()
    assert gusto.refresh_count == before + 1

    output = capsys.readouterr().out
    assert '"SyncSucceeded"' in output and '"GustoTokenRefreshed"' in output
    tokens_used = {stored[key] for stored in (first_pair, pair) for key in ("refresh_token", "access_token")}
    assert_no_secrets(output, tokens_used | {CLIENT_SECRET})


def test_a_sync_that_runs_out_of_time_resumes_with_the_same_content(
    handler: Handler, gusto: GustoSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = handler(load_event("gusto_sync_schedule.json"), LocalLambdaContext())
    assert baseline["status"] == "complete"
    expected = snapshot_content(latest_snapshot("gusto"))

    partial = handler(load_event("gusto_sync_schedule.json"), LocalLambdaContext(remaining_millis=[900_000, 1_000]))
    assert partial["status"] == "in_progress"
    assert latest_snapshot("gusto").manifest.sync_id == baseline["sync_id"]
    final = handler(partial, LocalLambdaContext())
    assert final["status"] == "complete" and final["sync_id"] == partial["sync_id"] and final["invocations"] == 2
    assert snapshot_content(latest_snapshot("gusto")) == expected


def test_a_revoked_connection_fails_with_the_sentence_the_exit_code_and_the_metric(
    handler: Handler, gusto: GustoSimulator, s3_keys: Callable[[str], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    gusto.revoke_all()
    with pytest.raises(ReauthorizationRequired) as caught:
        handler(load_event("gusto_sync_schedule.json"), LocalLambdaContext())
    assert caught.value.exit_code == 4
    assert caught.value.message.startswith(
        "The Gusto connection was revoked or its refresh token was already used; re-authorise the app"
    )
    output = capsys.readouterr().out
    assert '"GustoReauthorizationRequired"' in output and '"SyncFailed"' in output
    assert not [key for key in s3_keys("snapshots/") if key.endswith(("manifest.json", "latest.json"))]
    assert secret_value()["refresh_token"] not in output and CLIENT_SECRET not in output
