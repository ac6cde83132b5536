"""`access-sync check guru|gusto`: validates a connection without syncing and prints one line per check.

The report goes to stdout; the first problem is also raised, so `main` prints it on stderr and exits with
its code (3 for refused or under-privileged credentials, 4 when Gusto must be re-authorised, …).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from access_sync.checks import CheckReport, CheckStatus
from access_sync.stores.secrets import SecretStore
from access_sync.wiring.connections import local_connection, open_secret_store
from access_sync.wiring.registry import connector_spec

# Few, short retries: a check answers "does it work now?", it should not sit out a long outage.
QUICK: dict[str, Any] = {"max_attempts": 3, "max_retry_seconds": 20.0}
_MARKS = {CheckStatus.PASSED: "✓", CheckStatus.WARNING: "⚠", CheckStatus.FAILED: "✗"}
_ASCII_MARKS = {CheckStatus.PASSED: "ok", CheckStatus.WARNING: "warn", CheckStatus.FAILED: "FAIL"}


def _marks() -> dict[CheckStatus, str]:
    # A terminal or pipe that cannot encode the symbols (e.g. LANG=C) gets words instead of a traceback.
    try:
        "".join(_MARKS.values()).encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return _ASCII_MARKS
    return _MARKS


def print_report(report: CheckReport) -> None:
    marks = _marks()
    print(f"{report.service} at {report.base_url}")
    for line in report.lines:
        print(f"  {marks[line.outcome]} {line.name}: {line.message}")


def run_check(report: CheckReport) -> int:
    """Prints the report; raises its first problem (for `main` to turn into an exit code), else returns 0."""
    print_report(report)
    if problem := report.first_failure:
        raise problem
    return 0


def check_connection(connector: str, secrets: SecretStore | None, base_url: str | None) -> int:
    spec = connector_spec(connector)
    table = os.environ.get("IDEMPOTENCY_TABLE")  # share the Lambdas' refresh lease when the operator names it
    return run_check(spec.check(local_connection(spec, secrets, base_url, lease_table=table, client_options=QUICK)))


def run_check_command(args: argparse.Namespace) -> int:
    return check_connection(args.connector, open_secret_store(args.credentials, args.secret_id), args.base_url)
