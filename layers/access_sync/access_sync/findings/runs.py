"""One findings run: the newest complete snapshot of each connector in, a complete run folder out.

Order, as for snapshots: the part file, then manifest.json, then findings/latest.json, then the events. A
finding seen by the previous run keeps its `first_seen_at`; one that no longer holds is written once more,
as `resolved`, and not again. Only digests of the previous run's open finding ids are held in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from access_sync.findings.analysis import Analysis
from access_sync.findings.files import latest_pointer, line_writer, parts_prefix, read_lines, run_folder, write_complete
from access_sync.findings.identity import load_identities
from access_sync.models.digests import digest64
from access_sync.models.findings import KINDS, Finding, FindingsManifest
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.snapshot.layout import iso_now, new_sync_id
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import BlobStore

CONNECTORS = ("guru", "gusto")
DEFAULT_EVENTS_MAX = 500
# An event carries a finding without its full list of entitlements: EventBridge takes 256 KiB at most.
_EVENT_ENTITLEMENTS = 20

Clock = Callable[[], datetime]
Announce = Callable[[str, dict[str, Any]], None]  # (detail type, detail) → published
# Called once a run is complete (manifest and latest.json written) with its folder, e.g. to register the run's
# partition in a catalog.
Completed = Callable[[str, FindingsManifest], None]


@dataclass
class RunReport:
    """What a run did; `skipped` says why there was no run."""

    run_id: str | None = None
    path: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    def summary(self) -> dict[str, Any]:
        if self.skipped:
            return {"status": "skipped", "reason": self.skipped}
        return {"status": "complete", "run_id": self.run_id, "path": self.path, "counts": self.counts}


def missing_snapshots(store: BlobStore) -> tuple[dict[str, SnapshotReader], str | None]:
    """The latest complete snapshot of each connector, or why findings cannot be computed yet."""
    readers = {name: SnapshotReader.latest(store, name) for name in CONNECTORS}
    absent = [name for name, reader in readers.items() if reader is None]
    if absent:
        have = [name.capitalize() for name in CONNECTORS if name not in absent]
        reason = (
            f"findings need a complete snapshot of both Guru and Gusto in {store.describe()}; "
            + (f"there is only {have[0]}'s so far" if have else "there is none yet")
            + f": run `access-sync sync {absent[0]}`."
        )
        return {}, reason
    return {name: reader for name, reader in readers.items() if reader is not None}, None


def _next_run_id(store: BlobStore, now: datetime) -> str:
    """A run id that sorts after the previous run's, so that "the newest run" is also the largest id (the
    Athena view and the documented queries rely on it), even for two runs within one tick of the clock."""
    run_id = new_sync_id(now)
    previous = latest_pointer(store)
    if previous is None or run_id > previous.run_id:
        return run_id
    # The same tick (or a clock that went back): the previous run's stamp, its random part plus one.
    stamp, _, suffix = previous.run_id.rpartition("-")
    try:
        following = int(suffix, 16) + 1
    except ValueError:
        return run_id
    return f"{stamp}-{following:0{len(suffix)}x}" if following < 16 ** len(suffix) else run_id


def _previous_open(store: BlobStore) -> tuple[str | None, dict[int, str]]:
    """The previous run's folder and its open findings' first_seen_at, by the digest of their ids (tens of
    thousands of findings: a small int each instead of an id string, and each distinct time held once)."""
    pointer = latest_pointer(store)
    if pointer is None:
        return None, {}
    times: dict[str, str] = {}
    opened = {
        digest64(finding["id"]): times.setdefault(finding["first_seen_at"], finding["first_seen_at"])
        for finding in read_lines(store, pointer.path)
        if finding.get("status") == "open"
    }
    return pointer.path, opened


def _event_detail(run_id: str, finding: Finding) -> dict[str, Any]:
    access = finding["access"]
    trimmed = {**access, "entitlements": access["entitlements"][:_EVENT_ENTITLEMENTS]}
    return {"run_id": run_id, **finding, "access": trimmed}


class _Events:
    """Opened and resolved findings to announce, at most `limit` of each; the rest are only counted."""

    def __init__(self, run_id: str, limit: int) -> None:
        self.run_id, self.limit = run_id, limit
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.left_out = {"Finding Opened": 0, "Finding Resolved": 0}
        self._kept = {"Finding Opened": 0, "Finding Resolved": 0}

    def add(self, detail_type: str, finding: Finding) -> None:
        if self._kept[detail_type] < self.limit:
            self._kept[detail_type] += 1
            self.pending.append((detail_type, _event_detail(self.run_id, finding)))
        else:
            self.left_out[detail_type] += 1

    def publish(self, announce: Announce) -> None:
        for detail_type, detail in self.pending:
            announce(detail_type, detail)
        if any(self.left_out.values()):
            announce("Findings Left Out", {"run_id": self.run_id, **self.left_out})


class _Tally:
    def __init__(self) -> None:
        self.open = dict.fromkeys(KINDS, 0)
        self.resolved = 0
        self.new = 0

    def counts(self) -> dict[str, Any]:
        return {"open": sum(self.open.values()), "new": self.new, "resolved": self.resolved, "by_kind": self.open}


def run_findings(
    store: BlobStore,
    *,
    clock: Clock | None = None,
    announce: Announce | None = None,
    events_max: int = DEFAULT_EVENTS_MAX,
    completed: Completed | None = None,
) -> RunReport:
    readers, reason = missing_snapshots(store)
    if reason:
        logger.info("findings not run", extra={"reason": reason})
        return RunReport(skipped=reason)
    guru, gusto = readers["guru"], readers["gusto"]
    clock = clock or (lambda: datetime.now(UTC))
    now = clock()
    run_id, started_at = _next_run_id(store, now), iso_now(now)
    folder = run_folder(run_id)
    identities = load_identities(store, gusto.records("resources"), now.astimezone(UTC).date())
    previous, still_open = _previous_open(store)
    tally, events = _Tally(), _Events(run_id, events_max)

    with line_writer(store, f"{parts_prefix(folder)}part-00000.jsonl.gz") as out:
        for finding in Analysis(guru, gusto, identities).findings():
            first_seen = still_open.pop(digest64(finding["id"]), None)
            finding.update(status="open", first_seen_at=first_seen or started_at, last_seen_at=started_at)
            finding["resolved_at"] = None
            out.write(finding)
            tally.open[finding["kind"]] += 1
            if first_seen is None:
                tally.new += 1
                events.add("Finding Opened", finding)
        if previous and still_open:
            for finding in read_lines(store, previous):
                if digest64(finding["id"]) in still_open and finding.get("status") == "open":
                    finding.update(status="resolved", resolved_at=started_at)
                    out.write(finding)
                    tally.resolved += 1
                    events.add("Finding Resolved", finding)

    inputs = {"guru": guru.manifest.sync_id, "gusto": gusto.manifest.sync_id}
    manifest = FindingsManifest(
        run_id=run_id, started_at=started_at, completed_at=iso_now(clock()), inputs=inputs, counts=tally.counts()
    )
    write_complete(store, folder, manifest)
    if completed is not None:
        completed(folder, manifest)
    logger.info("findings run complete", extra={"run_id": run_id, "counts": manifest.counts})
    metrics.add_metric(name="FindingsOpen", unit=MetricUnit.Count, value=manifest.counts["open"])
    metrics.add_metric(name="FindingsNew", unit=MetricUnit.Count, value=tally.new)
    metrics.add_metric(name="FindingsResolved", unit=MetricUnit.Count, value=tally.resolved)
    if announce is not None:
        events.publish(announce)
    return RunReport(run_id=run_id, path=folder, inputs=inputs, counts=manifest.counts)
