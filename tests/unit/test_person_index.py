"""Gusto's people as findings and reviews both see them: the leaving rules, matching by address, the compact
digest index behind it, and the grant fields both read from snapshots."""

from __future__ import annotations

import gzip
import json
from datetime import date
from typing import Any

import pytest

from access_sync.identity.people import Identities, People, person_status
from access_sync.models import digests
from access_sync.models.digests import DigestIndex, digest64
from access_sync.models.findings import IdentityOverride
from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef
from access_sync.snapshot.reader import GrantFields, SnapshotReader
from access_sync.stores.blob import LocalBlobStore
from access_sync_dev.fixture_syncer import FixtureSyncer, write_snapshot

TODAY = date(2026, 6, 15)


def employee(uuid: str, **profile: Any) -> dict[str, Any]:
    status = profile.pop("status", "enabled")
    return {"resource_type": "employee", "id": uuid, "status": status, "profile": profile}


def test_without_gusto_s_terminated_flag_a_termination_date_still_says_left_or_scheduled() -> None:
    assert person_status(employee("a", termination_date="2026-06-15"), TODAY) == ("left", "2026-06-15")
    assert person_status(employee("a", termination_date="2026-07-01"), TODAY) == ("scheduled_to_leave", "2026-07-01")
    assert person_status(employee("a", status="disabled"), TODAY) == ("left", None)
    assert person_status(employee("a"), TODAY) == ("active", None)


def test_with_the_flag_a_terminated_employee_leaves_on_the_date_and_a_cancelled_one_stays() -> None:
    assert person_status(employee("a", terminated=True, termination_date="2026-07-01"), TODAY)[0] == (
        "scheduled_to_leave"
    )
    assert person_status(employee("a", terminated=False, termination_date="2026-01-01"), TODAY) == ("active", None)


def test_people_are_found_by_key_and_by_any_of_their_addresses_each_once() -> None:
    records = [
        employee("e1", email="ann@home.test", work_email="Ann@Corp.test"),
        employee("e2", email="shared@corp.test"),
        employee("e3", work_email=" SHARED@corp.test "),
        {"resource_type": "company", "id": "c1", "profile": {"email": "ann@corp.test"}},
    ]
    people = People.from_resources(records, lambda record: record["id"])
    assert len(people) == 3
    assert people.get("gusto:employee:e2") == "e2" and people.get("gusto:company:c1") is None
    assert people.matching(["ann@corp.test", "ANN@home.test", None, ""]) == ["e1"]
    assert people.matching(["shared@corp.test"]) == ["e2", "e3"]
    assert people.replaced(str.upper).matching(["ann@corp.test"]) == ["E1"]


def test_an_override_names_the_person_or_nobody_before_any_address_counts() -> None:
    people = People.from_resources([employee("e1", email="ann@corp.test")], lambda record: record["id"])
    overrides = [
        IdentityOverride(account="guru:user:x", person="gusto:employee:e1"),
        IdentityOverride(account="guru:user:ann@corp.test", ignore="shared mailbox"),
        IdentityOverride(account="guru:user:y", person="gusto:employee:gone"),
    ]
    identities = Identities(people, overrides)
    assert identities.match("guru:user:x", ["x"]).person == "e1"
    assert identities.match("guru:user:ann@corp.test", ["ann@corp.test"]).ignored == "shared mailbox"
    assert identities.match("guru:user:y", ["ann@corp.test"]).missing_override == "gusto:employee:gone"
    assert identities.match("guru:user:z", ["ANN@corp.test"]).person == "e1"
    assert identities.of_person("gusto:employee:e1").person == "e1"


def test_a_digest_index_gives_every_number_of_a_digest_in_the_order_added() -> None:
    index = DigestIndex()
    for number, text in enumerate(["b", "a", "c", "a", "b", "a"]):
        index.add(digest64(text), number)
    index.freeze()
    assert index.numbers(digest64("a")) == [1, 3, 5]
    assert index.numbers(digest64("c")) == [2]
    assert index.numbers(digest64("d")) == []
    assert len(index) == 6
    with pytest.raises(RuntimeError):
        index.add(digest64("e"), 6)


def test_a_digest_index_answers_only_once_frozen() -> None:
    with pytest.raises(RuntimeError):
        DigestIndex().numbers(digest64("a"))


def test_grant_fields_come_from_the_front_of_a_model_line_and_from_any_other_line_parsed(tmp_path) -> None:
    store = LocalBlobStore(tmp_path)
    group = Resource(resource_type="group", id="g:1", display_name="G")
    member = Entitlement.for_resource(group.ref, "member", "assignment", "G member", ["user"])
    grants = [Grant.of(member.id, ResourceRef(resource_type="user", id='a"b@x.test'))]
    write_snapshot(store, FixtureSyncer("guru", [], [group], [member], grants))
    reader = SnapshotReader.latest(store, "guru")
    assert reader is not None
    expected = GrantFields(grants[0].id, member.id, "user", 'a"b@x.test')
    assert list(reader.grants()) == [expected]
    reordered = {
        "principal": {"id": 'a"b@x.test', "resource_type": "user"},
        "entitlement": member.id,
        "id": grants[0].id,
    }
    part = tmp_path / reader.folder / reader.manifest.parts("grants")[0]
    part.write_bytes(gzip.compress(json.dumps(reordered).encode() + b"\n"))
    assert list(reader.grants()) == [expected]


def test_a_digest_index_larger_than_one_sorting_chunk_keeps_every_pair_in_order(monkeypatch) -> None:
    monkeypatch.setattr(digests, "SORT_CHUNK", 7)
    index = DigestIndex()
    pairs = [((number * 7919) % 50, number) for number in range(300)] + [((1 << 64) - 1, 300)]
    for digest, number in pairs:
        index.add(digest, number)
    index.freeze()
    for digest in {digest for digest, _ in pairs}:
        assert index.numbers(digest) == [number for key, number in pairs if key == digest]
