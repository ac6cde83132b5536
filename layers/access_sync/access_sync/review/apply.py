"""`review apply`: a checked decisions file becomes provisioning requests, one per `revoke`.

Each revoke is the request `{"request_id": "review:<campaign>:<item>", "action": "revoke", "grant_id": …}`,
handed to `carry_out` (the provisioning service at once, or the provisioning queue, which answers None).
The request id makes a repeat harmless: applying the same file again changes nothing twice. Before the
first request, the file is copied into the campaign folder and an application record names who applied it
and when; the same file applied again keeps its record and adds the repeat to it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from access_sync.models.provisioning import ProvisioningOutcome
from access_sync.review.campaigns import applications, applied_decisions, load_campaign
from access_sync.review.decisions import Tally, check_decisions, decided_rows, file_sha256, verify_items
from access_sync.review.items import Item
from access_sync.review.layout import application_key, applied_decisions_key, request_id
from access_sync.review.records import Application, DecisionsFile
from access_sync.snapshot.layout import iso_now, new_sync_id
from access_sync.stores.blob import BlobStore

CarryOut = Callable[[str], ProvisioningOutcome | None]  # None: queued, the outcome comes later
# Called once the file has passed its checks, with the connectors that have revokes: credentials are only
# needed for what will be carried out, and a refused file needs none.
OpenCarryOut = Callable[[frozenset[str]], CarryOut]
OnRevoke = Callable[[Item, str, ProvisioningOutcome | None], None]
NOT_DONE = frozenset({"failed", "unsupported", "rejected"})


@dataclass(frozen=True)
class ApplyOptions:
    operator: str
    mode: Literal["carried_out", "queued"]
    dry_run: bool = False


@dataclass
class ApplyResult:
    tally: Tally
    application: Application | None  # None on a dry run, or when the file decides nothing
    outcomes: Counter[str] = field(default_factory=Counter)
    attention: list[tuple[Item, ProvisioningOutcome]] = field(default_factory=list)  # failed, unsupported, …

    @property
    def all_done(self) -> bool:
        return not self.attention


def revoke_request(campaign_id: str, item: Item) -> str:
    return json.dumps(
        {
            "request_id": request_id(campaign_id, item.item_id),
            "connector": item.connector,
            "action": "revoke",
            "grant_id": item.grant_id,
        }
    )


def _record(
    store: BlobStore, campaign_id: str, path: Path, sha256: str, tally: Tally, options: ApplyOptions, now: datetime
) -> Application:
    earlier = next((a for a in applications(store, campaign_id) if a.decisions_file.sha256 == sha256), None)
    if earlier is not None:
        earlier.repeats.append({"by": options.operator, "at": iso_now(now)})
        return earlier
    apply_id = new_sync_id(now)
    with path.open("rb") as source, store.open_writer(applied_decisions_key(campaign_id, apply_id), "text/csv") as copy:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            copy.write(chunk)
    return Application(
        apply_id=apply_id,
        campaign_id=campaign_id,
        applied_by=options.operator,
        applied_at=iso_now(now),
        mode=options.mode,
        decisions_file=DecisionsFile(name=path.name, sha256=sha256, rows=tally.rows),
        counts=tally.as_dict(),
    )


def apply_decisions(
    store: BlobStore,
    campaign_id: str,
    path: Path,
    open_carry_out: OpenCarryOut,
    options: ApplyOptions,
    clock: Callable[[], datetime],
    on_revoke: OnRevoke = lambda item, request, outcome: None,
) -> ApplyResult:
    """Checks the file (DecisionsRefused: nothing applied), then carries out every revoke once."""
    campaign = load_campaign(store, campaign_id)
    verify_items(store, campaign)
    tally = check_decisions(store, campaign, path, applied_decisions(store, campaign_id))
    if not tally.keep and not tally.revoke:
        return ApplyResult(tally, None)  # nothing decided: nothing to record or carry out
    if options.dry_run:
        for item in decided_rows(path):
            if item.decision == "revoke":
                on_revoke(item, revoke_request(campaign_id, item), None)
        return ApplyResult(tally, None)
    connectors = frozenset(item.connector for item in decided_rows(path) if item.decision == "revoke")
    carry_out = open_carry_out(connectors) if connectors else None
    application = _record(store, campaign_id, path, file_sha256(path), tally, options, clock())
    key = application_key(campaign_id, application.apply_id)
    store.put_bytes(key, application.to_json())
    result = ApplyResult(tally, application)
    for item in decided_rows(path):
        if item.decision != "revoke":
            continue
        request = revoke_request(campaign_id, item)
        outcome = carry_out(request) if carry_out else None
        result.outcomes[outcome.status if outcome else "queued"] += 1
        if outcome is not None and outcome.status in NOT_DONE:
            result.attention.append((item, outcome))
        on_revoke(item, request, outcome)
    application.completed_at = iso_now(clock())
    application.outcomes = dict(sorted(result.outcomes.items()))
    store.put_bytes(key, application.to_json())
    return result
