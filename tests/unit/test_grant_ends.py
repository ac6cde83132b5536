"""Time-bound Guru grants through the provisioning service, with local ends (provisioning/expiries/) and a clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from access_sync.connectors.guru.connector import GURU
from access_sync.http.rehearsal import RehearsalTransport
from access_sync.models.provisioning import GrantEnd, ProvisioningOutcome
from access_sync.provisioning.recorder import OutcomeRecorder
from access_sync.provisioning.rehearsal import rehearse
from access_sync.provisioning.service import ProvisioningService
from access_sync.stores.blob import LocalBlobStore
from access_sync.stores.expiries import StoredGrantEnds
from access_sync.stores.idempotency import FolderPersistenceLayer
from access_sync.wiring.connections import local_connection
from access_sync.wiring.registry import CONNECTORS, NO_GRANT_END
from access_sync_sim.guru import GuruSimulator
from tests.helpers import guru_grant, guru_outsider

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def guru(monkeypatch: pytest.MonkeyPatch) -> GuruSimulator:
    sim = GuruSimulator(members=30, groups=4)
    monkeypatch.setenv("GURU_USER_EMAIL", sim.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", sim.ADMIN_TOKEN)
    return sim


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_service(tmp_path: Path, guru: GuruSimulator, clock: Clock, rehearsal: bool = False) -> ProvisioningService:
    transport = RehearsalTransport(guru.transport()) if rehearsal else guru.transport()
    provisioner = GURU.provisioner(local_connection(GURU, None, "http://guru.test/api/v1", transport=transport))
    store = LocalBlobStore(tmp_path / "out")
    return ProvisioningService(
        lambda connector: provisioner,
        CONNECTORS,
        OutcomeRecorder(store),
        FolderPersistenceLayer(tmp_path / "idempotency"),
        clock,
        ends=StoredGrantEnds(store),
        no_end=NO_GRANT_END,
    )


@pytest.fixture
def service(tmp_path: Path, guru: GuruSimulator, clock: Clock) -> Iterator[ProvisioningService]:
    service = make_service(tmp_path, guru, clock)
    yield service
    service.provisioner_for("guru").close()


@pytest.fixture
def access(guru: GuruSimulator) -> tuple[str, str]:
    return guru_outsider(guru, members=30)


def grant(request_id: str, access: tuple[str, str], **end: str) -> str:
    return json.dumps(guru_grant(request_id, access, **end))


def revoke(request_id: str, access: tuple[str, str]) -> str:
    body = {"request_id": request_id, "connector": "guru", "action": "revoke", "grant_id": grant_id(access)}
    return json.dumps(body)


def grant_id(access: tuple[str, str]) -> str:
    return f"group:{access[0]}:member:user:{access[1]}"


def pending(service: ProvisioningService) -> list[GrantEnd]:
    assert isinstance(service.ends, StoredGrantEnds)
    return list(service.ends.pending())


def outcome_file(tmp_path: Path, request_id: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((tmp_path / "out/provisioning/results" / f"{request_id}.json").read_text())
    return loaded


def test_a_time_bound_grant_records_its_end_counted_from_the_grant(
    service: ProvisioningService, guru: GuruSimulator, access: tuple[str, str], tmp_path: Path
) -> None:
    outcome = service.handle(grant("tb-1", access, duration="PT8H")).outcome

    assert outcome.status == "succeeded" and outcome.expires_at == "2026-12-01T17:00:00Z"
    assert outcome.message.endswith("until 2026-12-01T17:00:00Z.")
    assert guru.is_member(*access)
    (end,) = pending(service)
    assert (end.grant_id, end.expires_at, end.granted_by) == (grant_id(access), "2026-12-01T17:00:00Z", "tb-1")
    record = json.loads((tmp_path / f"out/provisioning/expiries/{end.name}.json").read_text())
    assert record["request"] == end.revoke_request()


def test_an_end_already_past_is_rejected_and_nothing_is_granted(
    service: ProvisioningService, guru: GuruSimulator, access: tuple[str, str]
) -> None:
    outcome = service.handle(grant("tb-late", access, expires_at="2026-12-01T08:59:59Z")).outcome

    assert outcome.status == "rejected"
    assert "expires_at 2026-12-01T08:59:59Z is in the past" in outcome.message
    assert outcome.raw_body and not guru.mutations and not pending(service)


def test_a_later_time_bound_grant_of_the_same_access_moves_its_end(
    service: ProvisioningService, access: tuple[str, str]
) -> None:
    service.handle(grant("tb-1", access, duration="PT1H"))
    outcome = service.handle(grant("tb-2", access, expires_at="2026-12-03T18:00:00+00:00")).outcome

    assert outcome.expires_at == "2026-12-03T18:00:00Z"
    (end,) = pending(service)
    assert (end.expires_at, end.granted_by) == ("2026-12-03T18:00:00Z", "tb-2")


@pytest.mark.parametrize("later", ["revoke", "grant without an end"])
def test_a_manual_revoke_or_a_grant_without_an_end_cancels_the_pending_end(
    service: ProvisioningService, access: tuple[str, str], later: str
) -> None:
    service.handle(grant("tb-1", access, duration="PT1H"))
    body = revoke("manual", access) if later == "revoke" else grant("forever", access)
    assert service.handle(body).outcome.status == "succeeded"
    assert pending(service) == []


def test_the_end_revokes_the_access_once_however_often_it_is_delivered(
    service: ProvisioningService, guru: GuruSimulator, access: tuple[str, str], clock: Clock
) -> None:
    service.handle(grant("tb-1", access, duration="PT1H"))
    (end,) = pending(service)
    clock.now += timedelta(hours=1)

    first = service.handle(json.dumps(end.revoke_request()), attempts=1).outcome
    again = service.handle(json.dumps(end.revoke_request()), attempts=2).outcome

    assert first.status == "succeeded" and again == first
    assert not guru.is_member(*access)
    assert [m[0] for m in guru.mutations] == ["POST", "DELETE"]
    assert pending(service) == []


def test_an_end_that_a_later_grant_replaced_is_not_carried_out(
    service: ProvisioningService, guru: GuruSimulator, access: tuple[str, str]
) -> None:
    service.handle(grant("tb-1", access, duration="PT1H"))
    (early,) = pending(service)
    service.handle(grant("tb-2", access, duration="P2D"))

    # The early end had already fired (its message on the queue) when the access was extended.
    outcome = service.handle(json.dumps(early.revoke_request())).outcome

    assert outcome.status == "already_done" and "replaced by a later end" in outcome.message
    assert guru.is_member(*access)
    (end,) = pending(service)
    assert end.granted_by == "tb-2"


def test_a_duplicate_of_a_time_bound_grant_after_a_revoke_does_not_bring_its_end_back(
    service: ProvisioningService, access: tuple[str, str]
) -> None:
    service.handle(grant("tb-1", access, duration="PT1H"))
    service.handle(revoke("manual", access))
    assert service.handle(grant("tb-1", access, duration="PT1H")).outcome.expires_at == "2026-12-01T10:00:00Z"
    assert pending(service) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"request_id": "bad", "connector": "guru"}', "rejected"),
        (
            '{"request_id": "inv", "connector": "guru", "action": "delete_resource", "resource": '
            '{"resource_type": "group", "id": "g1"}}',
            "unsupported",
        ),
        (
            '{"request_id": "gone", "connector": "guru", "action": "revoke", '
            '"grant_id": "group:nope:member:user:a@b.co"}',
            "already_done",
        ),
    ],
)
def test_every_outcome_file_carries_every_field(
    service: ProvisioningService, tmp_path: Path, body: str, status: str
) -> None:
    outcome = service.handle(body).outcome
    written = outcome_file(tmp_path, outcome.request_id)
    assert written["status"] == status
    assert list(written) == list(ProvisioningOutcome.model_fields)
    assert written["expires_at"] is None
    assert (written["raw_body"] is not None) == (status == "rejected")


def test_a_dry_run_shows_the_call_and_the_end_and_changes_and_writes_nothing(
    tmp_path: Path, guru: GuruSimulator, clock: Clock, access: tuple[str, str]
) -> None:
    service = make_service(tmp_path, guru, clock, rehearsal=True)

    planned = rehearse(service, grant("tb-1", access, duration="PT8H"))
    bad = rehearse(service, grant("tb-2", access, duration="P1M"))

    gid, email = access
    assert planned.status == "would_call" and planned.expires_at == "2026-12-01T17:00:00Z"
    assert planned.calls == [{"method": "POST", "path": f"/api/v1/groups/{gid}/members", "body": [{"id": email}]}]
    assert bad.status == "rejected" and "duration" in bad.message
    assert not guru.mutations and not guru.is_member(*access)
    assert not (tmp_path / "out").exists() and not (tmp_path / "idempotency").exists()
