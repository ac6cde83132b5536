"""Gusto's REST API: bearer tokens from the TokenManager, a pinned `X-Gusto-API-Version`, numbered pages
(`page`/`per`) that each name the last one (`X-Total-Pages`), a client-side limit under Gusto's 200 requests
per rolling minute, and Gusto's `{"errors": [...]}` bodies turned into one sentence.

Knows paths, paging and error shapes; nothing about resources or grants.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from access_sync.connectors.gusto.oauth import not_gusto
from access_sync.connectors.gusto.tokens import TokenManager
from access_sync.errors import AccessSyncError, ConfigurationError, CredentialsError, UpstreamError
from access_sync.http.client import ApiClient
from access_sync.http.limits import RateWindow
from access_sync.sync.numbered import NumberedPage, is_last

API_VERSION = "2025-06-15"
PER_PAGE = 100  # Gusto documents no maximum; 100 is what its examples and PostHog's connector use
# Gusto allows 200 requests per rolling minute per OAuth grant; the headroom is for provisioning on the same grant.
REQUESTS_PER_MINUTE = 180


class GustoApiError(UpstreamError):
    """An API error with Gusto's `errors[]` kept, so callers can act on a category (e.g. invalid_operation)."""

    def __init__(self, message: str, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(message, status=status, body=errors)
        self.errors = errors

    @property
    def categories(self) -> set[str]:
        return {str(error.get("category")) for error in self.errors}


def gusto_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The `errors` entries of a Gusto error body; empty when the body has another shape."""
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []


def describe_errors(errors: list[dict[str, Any]]) -> str:
    """`category: message` per error (three at most), e.g. `invalid_operation: Cannot delete onboarded employee`."""
    parts = []
    for error in errors[:3]:
        category = error.get("category") or error.get("error_key") or "error"
        message = str(error.get("message") or "").rstrip(".")
        parts.append(f"{category}: {message}" if message else str(category))
    return "; ".join(parts)


def _missing_scope(errors: list[dict[str, Any]]) -> str | None:
    for error in errors:
        if error.get("category") == "missing_oauth_scopes":
            metadata = error.get("metadata")
            scope = metadata.get("missing_scope_name") if isinstance(metadata, dict) else None
            return str(scope or "that this endpoint needs")
    return None


def gusto_error(response: httpx.Response) -> AccessSyncError:
    request = response.request
    where = f"{request.method} {request.url.path}"
    status = response.status_code
    errors = gusto_errors(response)
    if status == 401:
        return CredentialsError(
            f"Gusto refused the access token for {where} even after a refresh (HTTP 401); run "
            "`access-sync check gusto` and re-authorise the app if that fails too."
        )
    scope = _missing_scope(errors)
    if status == 403 and scope:
        return CredentialsError(
            f"Gusto denied {where}: the app lacks the OAuth scope {scope}; add it to the app in Gusto's "
            "Developer Portal, then re-authorise."
        )
    if status == 404 and not errors:
        return ConfigurationError(not_gusto(f"answered 404 to {where} without Gusto's error body"))
    detail = describe_errors(errors)
    if status == 406:
        return ConfigurationError(f"Gusto no longer accepts API version {API_VERSION} ({detail or 'HTTP 406'}).")
    return GustoApiError(f"Gusto answered {status} to {where}" + (f" ({detail})." if detail else "."), status, errors)


def _page_url(path: str, page: int) -> str:
    return f"{path}?page={page}&per={PER_PAGE}"


def _count(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name, "")
    return int(value) if value.isdigit() else None


def last_page(headers: httpx.Headers) -> int | None:
    """`X-Total-Pages`, raised when `X-Total-Count` says more records exist than that many pages hold."""
    pages = _count(headers, "X-Total-Pages")
    records, per = _count(headers, "X-Total-Count"), _count(headers, "X-Per-Page")
    if pages is not None and records is not None and per:
        return max(pages, math.ceil(records / per))
    return pages


class GustoClient:
    def __init__(
        self,
        tokens: TokenManager,
        *,
        transport: httpx.BaseTransport | None = None,
        rate: RateWindow | None = None,
        **client_options: Any,
    ) -> None:
        self.tokens = tokens
        self.api = ApiClient(
            "Gusto",
            tokens.base_url,
            auth=tokens.auth,
            headers={"X-Gusto-API-Version": API_VERSION},
            transport=transport,
            rate=rate or RateWindow(REQUESTS_PER_MINUTE, 60.0),
            error_mapper=gusto_error,
            **client_options,
        )

    @property
    def base_url(self) -> str:
        return self.api.base_url

    def close(self) -> None:
        self.api.close()
        self.tokens.close()

    # ------------------------------------------------------------------ reads

    def token_info(self) -> dict[str, Any]:
        return self._json("GET", "v1/token_info")

    def company_uuid(self) -> str:
        """The one company this token may read (Gusto's strict access: one company per grant)."""
        resource = self.token_info().get("resource") or {}
        if resource.get("type") != "Company" or not resource.get("uuid"):
            raise ConfigurationError(
                "The Gusto token is not bound to a company; authorise the app as an admin of one company."
            )
        return str(resource["uuid"])

    def company(self, company_uuid: str) -> dict[str, Any]:
        return self._json("GET", f"v1/companies/{company_uuid}")

    def employees_url(self, company_uuid: str) -> str:
        return _page_url(f"v1/companies/{company_uuid}/employees", 1)

    def contractors_url(self, company_uuid: str) -> str:
        return _page_url(f"v1/companies/{company_uuid}/contractors", 1)

    def admins_url(self, company_uuid: str) -> str:
        return _page_url(f"v1/companies/{company_uuid}/admins", 1)

    def page_number(self, url: str) -> int:
        return int(httpx.URL(url).params.get("page") or 1)

    def page_url(self, url: str, number: int) -> str:
        return _page_url(url.partition("?")[0], number)

    def numbered_page(self, url: str) -> NumberedPage:
        """One page of a list, with the last page number its headers name (None when they name none)."""
        response = self.api.send("GET", url)
        items = self.api.json(response)
        if not isinstance(items, list):
            raise UpstreamError(f"Gusto answered {response.request.url.path} with something other than a list.")
        # A page holds `per` items, or fewer when Gusto caps `per` lower and says so.
        per = min(PER_PAGE, _count(response.headers, "X-Per-Page") or PER_PAGE)
        return NumberedPage(items, last_page(response.headers), full=len(items) >= per)

    def all_pages(self, url: str) -> Iterator[dict[str, Any]]:
        """Every item of a list, one page after another (for the few reads outside a sync)."""
        number = self.page_number(url)
        while True:
            page = self.numbered_page(self.page_url(url, number))
            yield from page.items
            if is_last(number, page):
                return
            number += 1

    def get_employee(self, employee_uuid: str) -> dict[str, Any] | None:
        return self._json_or_none(f"v1/employees/{employee_uuid}")

    def get_contractor(self, contractor_uuid: str) -> dict[str, Any] | None:
        return self._json_or_none(f"v1/contractors/{contractor_uuid}")

    # ------------------------------------------------------------------ changes (provisioning)

    def create_admin(self, company_uuid: str, first_name: str, last_name: str, email: str) -> dict[str, Any]:
        """Embedded-only endpoint: an App-Integrations app gets a GustoApiError with category missing_permissions."""
        body = {"first_name": first_name, "last_name": last_name, "email": email}
        return self._json("POST", f"v1/companies/{company_uuid}/admins", json=body)

    def create_employee(self, company_uuid: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"v1/companies/{company_uuid}/employees", ok=(201,), json=dict(fields))

    def delete_employee(self, employee_uuid: str) -> bool:
        """Deletes an employee still in onboarding: True when deleted, False when already gone (404)."""
        response = self.api.send("DELETE", f"v1/employees/{employee_uuid}", ok=(204, 404))
        return response.status_code == 204

    def _json(self, method: str, path: str, ok: tuple[int, ...] = (200,), json: Any = None) -> dict[str, Any]:
        response = self.api.send(method, path, ok=ok, json=json)
        body = self.api.json(response)
        if not isinstance(body, dict):
            raise UpstreamError(
                f"Gusto answered {method} {response.request.url.path} with something other than an object."
            )
        return body

    def _json_or_none(self, path: str) -> dict[str, Any] | None:
        response = self.api.send("GET", path, ok=(200, 404))
        if response.status_code == 404:
            return None
        body = self.api.json(response)
        return body if isinstance(body, dict) else None
