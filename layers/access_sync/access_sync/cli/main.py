"""`access-sync`: argument parsing and the one place where errors become exit codes (docs/operations.md).

Every error leaves as one line on stderr: the library's own errors with their exit codes, usage errors with 2,
anything unexpected with 70 (its traceback only with -v).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from access_sync import __version__
from access_sync.errors import AccessSyncError, ConfigurationError
from access_sync.wiring.registry import CONNECTORS

DEFAULT_DEST = "./access-sync-data"
INTERNAL_ERROR = 70
OUTPUTS = ("text", "json", "csv")


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"access-sync: error: {message}; see `{self.prog} --help`.\n")


def _global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """-v, -q and -o, accepted before the command and after it; given after it, they win."""

    def default(value: object) -> object:
        # Left out of the namespace when not given after the command, so the value given before it stays.
        return argparse.SUPPRESS if after_command else value

    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="log progress as JSON lines on stderr"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default(False), help="no progress display and no log lines"
    )
    parser.add_argument(
        "-o", "--output", choices=OUTPUTS, default=default("text"), help="text (default), json, or csv for tables"
    )


def _credentials_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--credentials", metavar="FILE", help="local JSON file with the credentials")
    where.add_argument("--secret-id", metavar="ID", help="Secrets Manager secret with the credentials")


def _review_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    review = commands.add_parser("review", help="access reviews: start a campaign, apply decisions, report evidence")
    actions = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="a campaign from the latest snapshots; prints its id")
    start.add_argument("--connector", choices=sorted(CONNECTORS), help="review one connector (default: all synced)")
    start.add_argument("--scope", choices=["all", "privileged"], default="all", help="every grant, or privileged ones")
    start.add_argument("--out", default=DEFAULT_DEST, metavar="DEST", help="folder or s3://bucket/prefix")
    apply = actions.add_parser("apply", help="carry out the revoke decisions of a decisions file")
    apply.add_argument("campaign_id")
    apply.add_argument("--decisions", required=True, metavar="FILE.csv", help="items.csv with decision filled in")
    apply.add_argument("--dry-run", action="store_true", help="check the file and list the requests; change nothing")
    apply.add_argument("--out", default=DEFAULT_DEST, metavar="DEST", help="folder or s3://bucket/prefix")
    apply.add_argument("--base-url", metavar="URL")
    apply.add_argument("--guru-secret-id", metavar="ID", help="Guru credentials when revokes span both connectors")
    _credentials_options(apply)
    report = actions.add_parser("report", help="evidence.json and evidence.html: what was decided, done, verified")
    report.add_argument("campaign_id")
    report.add_argument("--out", default=DEFAULT_DEST, metavar="DEST", help="folder or s3://bucket/prefix")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="access-sync", description="Identity-governance connectors for Guru and Gusto.")
    parser.add_argument("--version", action="version", version=f"access-sync {__version__}")
    _global_options(parser, after_command=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sync = commands.add_parser("sync", help="take a snapshot of who has access")
    sync.add_argument("connector", choices=sorted(CONNECTORS))
    sync.add_argument("--out", default=DEFAULT_DEST, metavar="DEST", help="folder or s3://bucket/prefix")
    sync.add_argument("--base-url", metavar="URL", help="API base URL (default: the real service)")
    sync.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    _credentials_options(sync)

    provision = commands.add_parser("provision", help="carry out access requests")
    provision.add_argument("--file", metavar="REQUESTS.json", help="request(s) as JSON; - for stdin (the default)")
    provision.add_argument("--out", default=DEFAULT_DEST, metavar="DEST", help="folder or s3://bucket/prefix")
    provision.add_argument("--base-url", metavar="URL")
    provision.add_argument("--guru-secret-id", metavar="ID", help="Guru credentials when the file mixes connectors")
    provision.add_argument(
        "--dry-run", action="store_true", help="show what each request would call; change and write nothing"
    )
    _credentials_options(provision)

    expire = commands.add_parser("expire", help="end the time-bound grants that are due (local runs)")
    expire.add_argument("--out", default=DEFAULT_DEST, metavar="DEST", help="folder or s3://bucket/prefix")
    expire.add_argument("--base-url", metavar="URL")
    expire.add_argument("--guru-secret-id", metavar="ID", help="Guru credentials when the ends mix connectors")
    _credentials_options(expire)

    connect = commands.add_parser("connect", help="authorise access-sync in your Gusto app (OAuth)")
    connect.add_argument("connector", choices=["gusto"])
    connect.add_argument("--environment", choices=["production", "demo"], default="production")
    connect.add_argument("--client-id", help="your Gusto app's client id (prompted when absent)")
    connect.add_argument("--client-secret", help="your Gusto app's client secret (prompted, without echo)")
    connect.add_argument("--base-url", metavar="URL", help="Gusto base URL (default from --environment)")
    connect.add_argument("--port", type=int, default=8976, help="loopback port for the redirect URI")
    connect.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for consent")
    connect.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    _credentials_options(connect)

    check = commands.add_parser("check", help="validate a connection without syncing")
    check.add_argument("connector", choices=sorted(CONNECTORS))
    check.add_argument("--base-url", metavar="URL")
    _credentials_options(check)

    for kind, about in (
        ("resources", "list the accounts, groups and companies of a snapshot"),
        ("entitlements", "list what a snapshot says can be granted"),
        ("grants", "list who holds what, one readable row per grant"),
    ):
        listing = _reader_parser(commands, kind, about)
        listing.add_argument("--type", metavar="TYPE", help="only this resource type (grants: account type)")
        if kind != "entitlements":
            listing.add_argument("--status", choices=["enabled", "disabled"], help="only resources (accounts) with it")
        if kind == "grants":
            listing.add_argument("--entitlement", metavar="ID", help="only grants of this entitlement id")
            listing.add_argument("--principal", metavar="ID", help="only grants to this account (id or type:id)")
        listing.add_argument("--sync-id", metavar="ID", help="this snapshot instead of the latest")

    changes = _reader_parser(
        commands, "diff", "what changed between two snapshots (default: the latest vs its baseline)"
    )
    changes.add_argument("--from", dest="from_sync_id", metavar="SYNC_ID", help="default: the baseline of --to")
    changes.add_argument("--to", dest="to_sync_id", metavar="SYNC_ID", help="default: the latest snapshot")

    findings = commands.add_parser("findings", help="who left and still has access (Gusto against Guru)")
    findings.add_argument("--out", default=DEFAULT_DEST, metavar="DEST", help="folder or s3://bucket/prefix")
    findings.add_argument("--all", action="store_true", help="include the findings resolved in the latest run")
    findings.add_argument(
        "--remediate", metavar="MODE", help="revoke_groups or remove_account: remove the leavers' Guru access"
    )
    findings.add_argument("--max", type=int, default=10, metavar="N", help="circuit breaker: at most N requests")
    findings.add_argument("--dry-run", action="store_true", help="list the remediation requests; send none")
    findings.add_argument("--base-url", metavar="URL", help="Guru API base URL for --remediate")

    _review_parser(commands)

    demo = commands.add_parser("demo", help="the whole pipeline against the built-in simulators and local AWS")
    demo.add_argument("--out", default=DEFAULT_DEST, metavar="DIR", help="where to copy the snapshots")
    for command in commands.choices.values():
        _global_options(command, after_command=True)
    return parser


def _reader_parser(commands: argparse._SubParsersAction[_Parser], name: str, about: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=about)
    parser.add_argument("connector", choices=sorted(CONNECTORS))
    parser.add_argument("--out", default=DEFAULT_DEST, metavar="DEST", help="folder or s3://bucket/prefix to read")
    return parser


def _quiet_logs(verbose: bool, quiet: bool) -> None:
    """Local runs log to stderr: errors only, INFO with --verbose, nothing with --quiet; metrics are a Lambda
    concern."""
    from access_sync.observability import logger

    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logger.setLevel("INFO" if verbose else "CRITICAL" if quiet else "ERROR")
    handler = logger.registered_handler
    if hasattr(handler, "setStream"):
        handler.setStream(sys.stderr)


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    # Imported on demand so `access-sync --help` and each command start fast.
    if name == "sync":
        from access_sync.cli.sync_command import run_sync_command

        return run_sync_command
    if name == "provision":
        from access_sync.cli.provision_command import run_provision_command

        return run_provision_command
    if name == "expire":
        from access_sync.cli.expire_command import run_expire_command

        return run_expire_command
    if name == "connect":
        from access_sync.cli.connect_command import run_connect_command

        return run_connect_command
    if name == "findings":
        from access_sync.cli.findings_command import run_findings_command

        return run_findings_command
    if name == "check":
        from access_sync.cli.check_command import run_check_command

        return run_check_command
    if name in ("resources", "entitlements", "grants"):
        from access_sync.cli.read_commands import run_list_command

        return run_list_command
    if name == "diff":
        from access_sync.cli.read_commands import run_diff_command

        return run_diff_command
    if name == "review":
        from access_sync.cli.review_command import run_review_command

        return run_review_command
    return _demo_command()


def _demo_command() -> Callable[[argparse.Namespace], int]:
    """The demo lives with the development tools (devtools/, simulators/), which the Lambda layer leaves out."""
    try:
        from access_sync_dev.demo import run_demo_command
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in {"access_sync_dev", "access_sync_sim"}:
            raise
        raise ConfigurationError(
            "the demo runs from a source checkout of access-sync (its development tools are not installed here): "
            "clone the repository and run `make demo`."
        ) from None
    return run_demo_command


def _internal_error(exc: Exception, verbose: bool) -> int:
    """One line naming the exception and where it was raised in access-sync; the traceback only with -v."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if f"{os.sep}access_sync" in frame.filename] or frames
    where = f" at {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
    print(f"access-sync: internal error: {type(exc).__name__}{where}; run with -v for details", file=sys.stderr)
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    return INTERNAL_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version and usage errors have printed what they had to say
        return stop.code if isinstance(stop.code, int) else 2
    verbose = bool(args.verbose)
    try:
        if args.verbose and args.quiet:
            raise ConfigurationError("Give -v (--verbose) or -q (--quiet), not both.")
        _quiet_logs(verbose, args.quiet)
        return _command(args.command)(args)
    except AccessSyncError as exc:
        print(f"access-sync: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("access-sync: interrupted; nothing was marked complete.", file=sys.stderr)
        return 130
    except Exception as exc:
        return _internal_error(exc, verbose)


if __name__ == "__main__":
    sys.exit(main())
