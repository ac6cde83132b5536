"""`access-sync check guru|gusto`: validates a connection without syncing and prints one line per check.

The report goes to stdout (text, or `-o json` / `-o csv`); the first problem is raised, so `main` prints its
sentence on stderr and exits with its code (3 for refused or under-privileged credentials, 4 when Gusto must be
re-authorised, …). The text report marks that check failed without repeating the sentence, so it is read once.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from access_sync.checks import CheckLine, CheckReport, CheckStatus
from access_sync.cli.output import print_csv, print_json
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


def _text_line(line: CheckLine, raised: bool, marks: dict[CheckStatus, str]) -> str:
    # The raised problem's sentence is printed on stderr; saying it here too would say it twice.
    return f"  {marks[line.outcome]} {line.name}" + ("" if raised else f": {line.message}")


def print_report(report: CheckReport, output: str = "text") -> None:
    if output == "json":
        checks = [{"name": line.name, "status": str(line.outcome), "message": line.message} for line in report.lines]
        print_json(
            {"service": report.service, "base_url": report.base_url, "ok": not report.first_failure, "checks": checks}
        )
        return
    if output == "csv":
        print_csv(
            ["name", "status", "message"], [(line.name, str(line.outcome), line.message) for line in report.lines]
        )
        return
    marks = _marks()
    raised = report.first_failure
    print(f"{report.service} at {report.base_url}")
    for line in report.lines:
        print(_text_line(line, line.error is not None and line.error is raised, marks))


def run_check(report: CheckReport, output: str = "text") -> int:
    """Prints the report; raises its first problem (for `main` to turn into an exit code), else returns 0."""
    print_report(report, output)
    if problem := report.first_failure:
        raise problem
    return 0


def check_connection(connector: str, secrets: SecretStore | None, base_url: str | None, output: str = "text") -> int:
    spec = connector_spec(connector)
    table = os.environ.get("IDEMPOTENCY_TABLE")  # share the Lambdas' refresh lease when the operator names it
    connection = local_connection(spec, secrets, base_url, lease_table=table, client_options=QUICK)
    return run_check(spec.check(connection), output)


def run_check_command(args: argparse.Namespace) -> int:
    return check_connection(
        args.connector, open_secret_store(args.credentials, args.secret_id), args.base_url, args.output
    )
