"""`review start`: one campaign from the latest complete snapshots — items.csv, review.html, then campaign.json.

Grants stream from the snapshot straight into items.csv, one row each; only the entitlements (a few
thousand) and one small tuple per resource (100,000 Guru users fit in tens of megabytes) are held, so
600,000 grants never sit in memory. campaign.json is written last: a campaign is complete when it exists.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from access_sync.errors import ConfigurationError
from access_sync.models import ids
from access_sync.models.digests import DigestIndex, digest64
from access_sync.review.findings import OpenFindings, open_findings
from access_sync.review.items import Item, ItemsWriter, write_items
from access_sync.review.layout import PRIVILEGED_CONFIG, campaign_key, item_id, items_key
from access_sync.review.page import PAGE_ITEM_LIMIT, write_page
from access_sync.review.people import NO_PERSON, Person, PersonIndex, load_person_index
from access_sync.review.records import Campaign, Scope, SnapshotUse, SnapshotUsed
from access_sync.snapshot.layout import iso_now, new_sync_id
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import BlobStore

PEOPLE_CONNECTOR = "gusto"  # whose employees and contractors say who works here


class _Entitlement(NamedTuple):
    name: str
    resource: str  # "<type>:<id>" of the resource it belongs to


class _Account(NamedTuple):
    name: str
    email: str | None  # None: the same as the account's id (as for Guru members), kept once
    status: str
    person: Person | None


@dataclass(frozen=True)
class CampaignRequest:
    connectors: Sequence[str] | None  # None: every connector with a complete snapshot
    scope: Scope
    operator: str  # who starts it, as the CLI sees them


def snapshot_used(store: BlobStore, reader: SnapshotReader, used_for: list[SnapshotUse]) -> SnapshotUsed:
    manifest = store.get_bytes(f"{reader.folder}/manifest.json") or b""
    return SnapshotUsed(
        connector=reader.manifest.connector,
        sync_id=reader.manifest.sync_id,
        path=reader.folder,
        started_at=reader.manifest.started_at,
        completed_at=reader.manifest.completed_at,
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        used_for=used_for,
    )


def privileged_entitlements(store: BlobStore) -> list[str]:
    """config/privileged.json: a JSON list of entitlement ids (e.g. Guru groups) that count as privileged."""
    raw = store.get_bytes(PRIVILEGED_CONFIG)
    if raw is None:
        return []
    try:
        listed = json.loads(raw)
    except ValueError:
        listed = None
    if not isinstance(listed, list) or not all(isinstance(entry, str) for entry in listed):
        raise ConfigurationError(
            f'{store.describe(PRIVILEGED_CONFIG)} must be a JSON list of entitlement ids, e.g. ["group:<gid>:member"].'
        )
    return sorted(set(listed))


def _latest_snapshots(store: BlobStore, request: CampaignRequest, known: Sequence[str]) -> dict[str, SnapshotReader]:
    wanted = list(request.connectors or known)
    found = {name: reader for name in wanted if (reader := SnapshotReader.latest(store, name)) is not None}
    missing = [name for name in wanted if name not in found]
    if request.connectors and missing:
        raise ConfigurationError(
            f"There is no complete {missing[0]} snapshot in {store.describe()}; run `access-sync sync {missing[0]}` "
            "first."
        )
    if not found:
        raise ConfigurationError(
            f"There is no complete snapshot in {store.describe()} to review; run `access-sync sync guru|gusto` first."
        )
    return found


class _ConnectorItems:
    """One connector's grants under review, as rows: entitlements and accounts indexed, grants streamed."""

    def __init__(
        self,
        reader: SnapshotReader,
        people: PersonIndex | None,
        findings: OpenFindings,
        scope: Scope,
        privileged: set[str],
    ) -> None:
        self.reader, self.people, self.findings = reader, people, findings
        self.connector = reader.manifest.connector
        self.entitlements = {
            record["id"]: _Entitlement(
                str(record.get("display_name") or record["id"]),
                ids.resource_key(record["resource"]["resource_type"], record["resource"]["id"]),
            )
            for record in reader.records("entitlements")
            if scope == "all" or record.get("purpose") == "permission" or record["id"] in privileged
        }
        # One connector's accounts at a time, as a list, and their `<type>:<id>` as digests pointing into it.
        self.accounts: list[_Account] = []
        self._numbers = DigestIndex()
        for record in reader.records("resources"):
            person = people.status_of(self.connector, record) if people and record.get("user") else None
            email = str((record.get("user") or {}).get("email") or "")
            self._numbers.add(digest64(ids.resource_key(record["resource_type"], record["id"])), len(self.accounts))
            self.accounts.append(
                _Account(
                    str(record.get("display_name") or record["id"]),
                    None if email == record["id"] else email,
                    sys.intern(str(record.get("status") or "")),
                    person,
                )
            )
        self._numbers.freeze()

    def account(self, key: str) -> _Account | None:
        numbers = self._numbers.numbers(digest64(key))
        return self.accounts[numbers[-1]] if numbers else None

    def write(self, items: ItemsWriter) -> int:
        written = 0
        resource_names: dict[str, str] = {}  # entitlement → the name of its resource, looked up once
        for grant_id, entitlement_id, principal_type, principal_id in self.reader.grants():
            entitlement = self.entitlements.get(entitlement_id)
            if entitlement is None:
                continue
            key = ids.resource_key(principal_type, principal_id)
            account = self.account(key) or _Account(principal_id, "", "", None)
            resource_name = resource_names.get(entitlement_id)
            if resource_name is None:
                resource = self.account(entitlement.resource)
                resource_name = resource_names[entitlement_id] = resource.name if resource else entitlement.resource
            person = account.person
            if person is None and self.people is not None:
                person = NO_PERSON
            items.write(
                Item(
                    item_id=item_id(grant_id),
                    connector=self.connector,
                    account_id=key,
                    account_name=account.name,
                    account_email=principal_id if account.email is None else account.email,
                    account_status=account.status,
                    person_status=person.status if person else "",
                    entitlement_id=entitlement_id,
                    entitlement_name=entitlement.name,
                    resource_name=resource_name,
                    findings=self.findings.of(self.connector, principal_type, principal_id),
                    reviewer=person.reviewer if person else "",
                )
            )
            written += 1
        return written


def start_campaign(
    store: BlobStore, request: CampaignRequest, known_connectors: Sequence[str], now: datetime
) -> Campaign:
    campaign_id = new_sync_id(now)
    readers = _latest_snapshots(store, request, known_connectors)
    notes = [
        f"No complete {name} snapshot was found, so {name} is not in this campaign."
        for name in (request.connectors or known_connectors)
        if name not in readers
    ]
    uses: dict[str, tuple[SnapshotReader, list[SnapshotUse]]] = {
        name: (reader, ["items"]) for name, reader in readers.items()
    }
    people_reader = readers.get(PEOPLE_CONNECTOR) or SnapshotReader.latest(store, PEOPLE_CONNECTOR)
    people = None
    if people_reader is None:
        notes.append("No complete Gusto snapshot was found: person_status and reviewer are empty.")
    else:
        uses.setdefault(PEOPLE_CONNECTOR, (people_reader, []))[1].append("person_status")
        people = load_person_index(store, people_reader, now.date())
    findings = open_findings(store)
    if findings.run is None:
        notes.append("No findings run was found (findings/latest.json): the findings column is empty.")
    privileged = privileged_entitlements(store) if request.scope == "privileged" else []
    counts: dict[str, int] = {}
    reviewed: set[str] = set()
    with write_items(store, items_key(campaign_id)) as items:
        for name in sorted(readers):
            connector = _ConnectorItems(readers[name], people, findings, request.scope, set(privileged))
            counts[name] = connector.write(items)
            reviewed.update(connector.entitlements)
            del connector  # one connector's accounts at a time: the next one's are built without these
    notes += [
        f"config/privileged.json names {entry}, which no reviewed snapshot has."
        for entry in privileged
        if entry not in reviewed
    ]
    campaign = Campaign(
        campaign_id=campaign_id,
        created_at=iso_now(now),
        created_by=request.operator,
        scope=request.scope,
        connectors=sorted(readers),
        snapshots=[snapshot_used(store, reader, used_for) for reader, used_for in uses.values()],
        findings=findings.run,
        privileged_entitlements=privileged,
        items=items.rows,
        items_by_connector=counts,
        items_sha256=items.sha256,
        page_lists_items=items.rows <= PAGE_ITEM_LIMIT,
        notes=notes,
    )
    write_page(store, campaign)
    store.put_bytes(campaign_key(campaign_id), campaign.to_json())
    return campaign
