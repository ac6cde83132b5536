"""What happens after every completed sync: a findings run, then (when turned on) the leaver remediation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from access_sync.findings.files import latest_pointer, read_lines
from access_sync.findings.remediation import DEFAULT_MAX_PER_RUN, Announce, Mode, RemediationReport, Send, remediate
from access_sync.findings.runs import DEFAULT_EVENTS_MAX, Clock, Completed, run_findings
from access_sync.stores.blob import BlobStore


@dataclass(frozen=True)
class FindingsSettings:
    remediation: Mode = "off"
    max_per_run: int = DEFAULT_MAX_PER_RUN
    dry_run: bool = False
    events_max: int = DEFAULT_EVENTS_MAX


def remediate_latest(
    store: BlobStore,
    mode: Mode,
    *,
    limit: int = DEFAULT_MAX_PER_RUN,
    dry_run: bool = False,
    send: Send | None = None,
    announce: Announce | None = None,
) -> RemediationReport | None:
    """Remediation of the latest run's open leavers; None when there is no run yet."""
    pointer = latest_pointer(store)
    if pointer is None:
        return None
    return remediate(
        read_lines(store, pointer.path),
        mode,
        limit=limit,
        dry_run=dry_run,
        send=send,
        announce=announce,
        run_id=pointer.run_id,
    )


def findings_after_sync(
    store: BlobStore,
    settings: FindingsSettings,
    *,
    announce: Announce | None = None,
    send: Send | None = None,
    clock: Clock | None = None,
    completed: Completed | None = None,
) -> dict[str, Any]:
    """Runs the findings and, unless remediation is off, sends (or lists) the leavers' requests."""
    report = run_findings(store, announce=announce, events_max=settings.events_max, clock=clock, completed=completed)
    summary = report.summary()
    if report.skipped or settings.remediation == "off":
        return summary
    remediation = remediate_latest(
        store, settings.remediation, limit=settings.max_per_run, dry_run=settings.dry_run, send=send, announce=announce
    )
    if remediation is not None:
        summary["remediation"] = remediation.summary()
    return summary
