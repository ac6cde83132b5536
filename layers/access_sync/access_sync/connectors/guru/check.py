"""`access-sync check guru`: the token is a user token whose owner can list members and groups (docs/connect.md)."""

from __future__ import annotations

from typing import Any

from access_sync.checks import CheckReport
from access_sync.connectors.guru.client import GuruClient
from access_sync.errors import AccessSyncError

_USER_TOKEN_HOWTO = (
    "as a Guru admin, generate a user token (Manage → Apps & Integrations → API Access → Generate User Token) "
    "and use it with that user's email"
)


def _name(record: Any, key: str) -> str:
    return str(record.get(key) or "?") if isinstance(record, dict) else "?"


def check_guru(client: GuruClient) -> CheckReport:
    report = CheckReport("Guru", client.base_url)
    try:
        identity = client.whoami()
    except AccessSyncError as exc:
        report.failed("credentials", exc)
        return report
    team = _name(identity.get("team"), "name")
    token_type = str(identity.get("tokenType") or "UNKNOWN")
    if token_type != "API":
        # A collection token (or any other kind) cannot read the team's members or groups.
        report.failed(
            "token type",
            f"Guru accepted the credentials, but they are a {token_type} token rather than a user token; "
            f"{_USER_TOKEN_HOWTO}.",
        )
        return report
    report.passed("credentials", f"user token of {_name(identity.get('user'), 'email')} on the team {team}")
    for name, path, noun in (("list members", "members", "members"), ("list groups", "groups", "groups")):
        try:
            items, next_page = client.page(path)
        except AccessSyncError as exc:
            report.failed(name, exc)
            continue
        report.passed(name, f"{len(items)}{'+' if next_page else ''} {noun} visible")
    return report
