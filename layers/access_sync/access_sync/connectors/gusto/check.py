"""`access-sync check gusto`: a usable access token (refreshed under the rotation rules when due), the company
the token is bound to, and the OAuth scopes the connector needs that the token lacks (docs/connect.md).
"""

from __future__ import annotations

from typing import Any

from access_sync.checks import CheckReport
from access_sync.connectors.gusto.client import GustoClient
from access_sync.errors import AccessSyncError

# What a sync reads (docs/snapshot-format.md), and what provisioning changes on top (docs/provisioning.md).
SYNC_SCOPES = ("companies:read", "employees:read", "contractors:read", "company_admin:read")
PROVISIONING_SCOPES = ("employees:manage", "company_admin:write")

_ADD_SCOPES = (
    "Gusto assigns scopes to the app: ask for them in the Gusto Developer Portal, then run "
    "`access-sync connect gusto` again"
)


def lacking(granted: str, wanted: tuple[str, ...]) -> list[str]:
    scopes = set(granted.split())
    return [scope for scope in wanted if scope not in scopes]


def _company(client: GustoClient, info: dict[str, Any]) -> str | None:
    """`Name (uuid)` of the token's company, or just the uuid when the token may not read the company."""
    resource = info.get("resource") if isinstance(info.get("resource"), dict) else {}
    if not resource or resource.get("type") != "Company" or not resource.get("uuid"):
        return None
    uuid = str(resource["uuid"])
    if lacking(str(info.get("scope") or ""), ("companies:read",)):
        return uuid
    name = client.company(uuid).get("name")
    return f"{name} ({uuid})" if name else uuid


def _check_token(client: GustoClient, report: CheckReport) -> bool:
    tokens = client.tokens
    before = tokens.refreshes
    try:
        tokens.access_token()
    except AccessSyncError as exc:
        report.failed("access token", exc)
        return False
    if tokens.refreshes > before:
        report.passed("access token", f"refreshed; the new tokens are stored in {tokens.store.describe()}")
    else:
        report.passed("access token", "still valid, no refresh needed")
    return True


def check_gusto(client: GustoClient) -> CheckReport:
    report = CheckReport("Gusto", client.base_url)
    if not _check_token(client, report):
        return report
    try:
        info = client.token_info()
        company = _company(client, info)
    except AccessSyncError as exc:
        report.failed("company", exc)
        return report
    if company is None:
        report.failed(
            "company",
            "The Gusto token is not bound to a company; run `access-sync connect gusto` again and approve it as "
            "an admin of the company to sync.",
        )
        return report
    report.passed("company", company)
    granted = str(info.get("scope") or "")
    missing = lacking(granted, SYNC_SCOPES)
    if missing:
        report.failed("sync scopes", f"The token lacks {', '.join(missing)}, which a sync needs; {_ADD_SCOPES}.")
    else:
        report.passed("sync scopes", ", ".join(SYNC_SCOPES))
    missing = lacking(granted, PROVISIONING_SCOPES)
    if missing:
        report.warning(
            "provisioning scopes",
            f"The token lacks {', '.join(missing)}, so syncs work but provisioning will fail; {_ADD_SCOPES}.",
        )
    else:
        report.passed("provisioning scopes", ", ".join(PROVISIONING_SCOPES))
    return report
