"""Removing leavers' Guru access, off by default and behind a circuit breaker (docs/findings.md).

The requests are ordinary provisioning requests with deterministic ids, so a repeated run (or two syncs
finishing one after the other) changes nothing twice: the provisioning service answers a request id it has
seen with its first outcome. A run that would send more than the maximum sends none: a flood of "leavers"
is far likelier to be a bad HR import than a real one, and must not empty the Guru team.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from access_sync.errors import ConfigurationError
from access_sync.models import ids
from access_sync.models.findings import Finding
from access_sync.observability import MetricUnit, logger, metrics

Mode = Literal["off", "revoke_groups", "remove_account"]
MODES: tuple[str, ...] = get_args(Mode)
DEFAULT_MAX_PER_RUN = 10
HALTED = "Remediation Halted"

Send = Callable[[str], None]  # one request body (JSON) onto the queue, or carried out at once
Announce = Callable[[str, dict[str, Any]], None]


def parse_mode(value: str) -> Mode:
    if value not in MODES:
        raise ConfigurationError(f"Unknown remediation mode {value!r}; use one of {', '.join(MODES)}.")
    return value  # type: ignore[return-value]


def remediation_id(finding_id: str, target: str) -> str:
    """`remediate:` + 32 hex digits of sha256(`<finding id>|<grant id or member id>`): a valid request_id."""
    return "remediate:" + hashlib.sha256(f"{finding_id}|{target}".encode()).hexdigest()[:32]


def requests_for(finding: Finding, mode: Mode) -> Iterator[dict[str, Any]]:
    """The Guru requests that remove one open leaver finding's access."""
    if mode == "off" or finding.get("kind") != "leaver_with_access" or finding.get("status") != "open":
        return
    member = finding["subject"]["id"]
    if mode == "remove_account":
        yield {
            "request_id": remediation_id(finding["id"], member),
            "connector": "guru",
            "action": "delete_resource",
            "resource": {"resource_type": "user", "id": member},
        }
        return
    for entitlement in finding["access"]["entitlements"]:
        grant = ids.grant_id(entitlement, "user", member)
        yield {
            "request_id": remediation_id(finding["id"], grant),
            "connector": "guru",
            "action": "revoke",
            "grant_id": grant,
        }


@dataclass
class RemediationReport:
    mode: Mode
    limit: int
    dry_run: bool
    planned: int = 0  # requests the run's findings call for
    requests: list[dict[str, Any]] = field(default_factory=list)  # the first `limit` of them
    sent: int = 0
    halted: bool = False

    @property
    def held_back(self) -> int:
        return self.planned if self.halted else 0

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "dry_run": self.dry_run,
            "max": self.limit,
            "planned": self.planned,
            "sent": self.sent,
            "halted": self.halted,
        }

    def sentence(self) -> str:
        if self.halted:
            return (
                f"remediation halted: the run calls for {self.planned} requests, more than the maximum of "
                f"{self.limit}; {self.planned} requests were held back (check Gusto's terminations, then raise "
                "the maximum if they are real)."
            )
        if self.dry_run:
            return f"dry run: {self.planned} {self.mode} requests would be sent; none were."
        return f"{self.sent} {self.mode} requests sent."


def remediate(
    findings: Iterable[Finding],
    mode: Mode,
    *,
    limit: int = DEFAULT_MAX_PER_RUN,
    dry_run: bool = False,
    send: Send | None = None,
    announce: Announce | None = None,
    run_id: str | None = None,
) -> RemediationReport:
    """Plans the requests of `findings` (streamed; only the first `limit` are kept) and sends them, unless
    there are more than `limit` (then none, an event and a metric) or it is a dry run."""
    report = RemediationReport(mode=mode, limit=limit, dry_run=dry_run)
    for finding in findings:
        for request in requests_for(finding, mode):
            report.planned += 1
            if len(report.requests) < limit:
                report.requests.append(request)
    if report.planned > limit:
        report.halted = True
        report.requests.clear()
        logger.warning("remediation halted by the circuit breaker", extra=report.summary())
        if not dry_run:  # a rehearsal tells, but neither announces nor alarms
            metrics.add_metric(name="RemediationHalted", unit=MetricUnit.Count, value=1)
            if announce is not None:
                announce(HALTED, {"run_id": run_id, **report.summary(), "held_back": report.planned})
        return report
    if dry_run or send is None:
        return report
    for request in report.requests:
        send(json.dumps(request))
        report.sent += 1
    metrics.add_metric(name="RemediationRequestsSent", unit=MetricUnit.Count, value=report.sent)
    return report
