"""Connection checks (`access-sync check`): a short report of what works and, for each problem, how to fix it.

The checks themselves live next to each connector's client: `connectors/guru/check.py` and
`connectors/gusto/check.py`. A failed check keeps the typed error it came from, so the command exits
with that error's code (e.g. 4 when Gusto needs re-authorising).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from access_sync.errors import AccessSyncError, CredentialsError


class CheckStatus(StrEnum):
    PASSED = "passed"
    WARNING = "warning"  # works for syncing, but something else (e.g. provisioning) will not
    FAILED = "failed"


@dataclass(frozen=True)
class CheckLine:
    name: str
    outcome: CheckStatus
    message: str  # what was found; for a warning or a failure, also the one sentence that says how to fix it
    error: AccessSyncError | None = None


@dataclass
class CheckReport:
    service: str
    base_url: str
    lines: list[CheckLine] = field(default_factory=list)

    def passed(self, name: str, message: str) -> None:
        self.lines.append(CheckLine(name, CheckStatus.PASSED, message))

    def warning(self, name: str, message: str) -> None:
        self.lines.append(CheckLine(name, CheckStatus.WARNING, message))

    def failed(self, name: str, error: AccessSyncError | str) -> None:
        # A problem found by looking at an answer (not raised by a call) is a credentials problem.
        problem = CredentialsError(error) if isinstance(error, str) else error
        self.lines.append(CheckLine(name, CheckStatus.FAILED, problem.message, problem))

    @property
    def first_failure(self) -> AccessSyncError | None:
        return next((line.error for line in self.lines if line.error is not None), None)
