"""Gusto's `/v1` API: the rate limit, `X-Gusto-API-Version`, bearer tokens and their scopes, and the handlers.

Where Gusto is undocumented: POST admins without Embedded access answers 403 `missing_permissions`; an
email that is already an admin (any letter case) answers the spec's 422 `admin_duplicate_email` example;
only these calls count against the rate limit and carry `X-RateLimit-*`, the OAuth endpoints do not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from ..limits import RollingWindow
from ..responses import Reject, json_bytes, json_response
from .bodies import json_body, require, valid_email
from .errors import errors, not_found
from .oauth import OAuthServer, TokenRow
from .overlay import Overlay
from .paging import paged

SUPPORTED_API_VERSIONS = ("2025-06-15", "2025-11-15", "2026-02-01", "2026-06-15")
DEFAULT_API_VERSION = "2025-06-15"  # what an app's Developer Portal default would be when no header is sent
RATE_WINDOW_SECONDS = 60.0

_EMBEDDED_ONLY = (
    "This endpoint is part of Gusto Embedded. Please contact developer@gusto.com to request access. "
    "Note, this may require you to enter a different agreement with Gusto."
)

_Handler = Callable[[httpx.Request, re.Match[str], TokenRow], httpx.Response]


class GustoApi:
    """Answers every request that is not for an OAuth endpoint."""

    def __init__(
        self, overlay: Overlay, oauth: OAuthServer, rate_limit: RollingWindow, *, embedded_admin_api: bool
    ) -> None:
        self.company = overlay.company
        self.overlay = overlay
        self.oauth = oauth
        self.embedded_admin_api = embedded_admin_api
        self._rate = rate_limit
        companies = r"/v1/companies/(?P<company>[^/]+)"
        self._routes: list[tuple[str, re.Pattern[str], str | None, _Handler]] = [
            (method, re.compile(pattern), scope, handler)
            for method, pattern, scope, handler in (
                ("GET", r"/v1/token_info", None, self._token_info),
                ("GET", companies, "companies:read", self._get_company),
                ("GET", companies + "/employees", "employees:read", self._list_employees),
                ("POST", companies + "/employees", "employees:manage", self._create_employee),
                ("GET", companies + "/contractors", "contractors:read", self._list_contractors),
                ("GET", companies + "/admins", "company_admin:read", self._list_admins),
                ("POST", companies + "/admins", "company_admin:write", self._create_admin),
                ("GET", r"/v1/employees/(?P<uuid>[^/]+)", "employees:read", self._get_employee),
                ("DELETE", r"/v1/employees/(?P<uuid>[^/]+)", "employees:manage", self._delete_employee),
                ("GET", r"/v1/contractors/(?P<uuid>[^/]+)", "contractors:read", self._get_contractor),
            )
        ]

    # ------------------------------------------------------------------ dispatch

    def answer(self, request: httpx.Request) -> httpx.Response:
        admitted, rate_headers = self._rate.admit()
        if admitted:
            response = self._versioned(request)
        else:
            response = errors(429, "base", "rate_limit_exceeded", "Rate limit exceeded")
        response.headers.update(rate_headers)
        return response

    def _versioned(self, request: httpx.Request) -> httpx.Response:
        version = request.headers.get("X-Gusto-API-Version")
        if version is not None and version not in SUPPORTED_API_VERSIONS:
            supported = ", ".join(SUPPORTED_API_VERSIONS)
            message = f"Invalid API version {version!r}; supported versions are {supported}."
            return errors(406, "request", "invalid_api_version", message)
        try:
            response = self._dispatch(request)
        except Reject as reject:
            response = reject.response
        response.headers["X-Gusto-API-Version"] = version or DEFAULT_API_VERSION
        return response

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        row = self.oauth.authenticate(request)
        path = request.url.path
        for method, pattern, scope, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None or method != request.method:
                continue
            if scope is not None and scope not in row.scope.split():
                message = f"The access token is missing the required scope: {scope}."
                return errors(403, "base", "missing_oauth_scopes", message, metadata={"missing_scope_name": scope})
            return handler(request, match, row)
        return not_found()

    def _check_company(self, match: re.Match[str]) -> None:
        if match["company"] != self.company.company_uuid:
            raise Reject(not_found())

    # ------------------------------------------------------------------ reading

    def _token_info(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        return json_response(
            200,
            {
                "scope": row.scope,
                "resource": {"type": "Company", "uuid": self.company.company_uuid},
                "resource_owner": {"type": "CompanyAdmin", "uuid": self.company.uuid_for("admin", 0)},
            },
        )

    def _get_company(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        self._check_company(match)
        company = self.company.company()
        if "company_admin:read" not in row.scope.split():
            del company["primary_payroll_admin"]  # Gusto shows it only to tokens that may read admins
        return json_response(200, company)

    def _list_employees(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        self._check_company(match)
        return paged(request, self.overlay.employee_keys(), self.overlay.employee_json)

    def _list_contractors(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        self._check_company(match)
        return paged(request, range(self.company.contractor_count), self.company.contractor_json)

    def _list_admins(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        self._check_company(match)
        return paged(request, self.overlay.admins(), json_bytes)

    def _get_employee(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        record = self.overlay.find_employee(match["uuid"])
        return json_response(200, record) if record is not None else not_found()

    def _get_contractor(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        index = self.company.contractor_index(match["uuid"])
        return json_response(200, self.company.contractor(index)) if index is not None else not_found()

    # ------------------------------------------------------------------ provisioning

    def _create_admin(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        if not self.embedded_admin_api:
            return errors(403, "base", "missing_permissions", _EMBEDDED_ONLY)
        self._check_company(match)
        body = json_body(request)
        require(body, ("first_name", "last_name", "email"))
        admin = self.overlay.create_admin(
            first=body["first_name"],
            last=body["last_name"],
            email=valid_email(body["email"]),
            phone=body.get("phone"),
            path=request.url.path,
        )
        if admin is None:
            return errors(422, "email", "invalid_attribute_value", "User has already been taken")
        return json_response(200, admin)

    def _create_employee(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        self._check_company(match)
        body = json_body(request)
        self_onboarding = body.get("self_onboarding") is True
        require(body, ("first_name", "last_name", "email") if self_onboarding else ("first_name", "last_name"))
        details: dict[str, Any] = {
            "middle_initial": body.get("middle_initial"),
            "preferred_first_name": body.get("preferred_first_name"),
            "date_of_birth": body.get("date_of_birth"),
            "has_ssn": bool(body.get("ssn")),
        }
        employee = self.overlay.create_employee(
            first=body["first_name"],
            last=body["last_name"],
            email=valid_email(body["email"]) if body.get("email") is not None else None,
            work_email=valid_email(body["work_email"]) if body.get("work_email") is not None else None,
            onboarding_status="self_onboarding_pending_invite" if self_onboarding else "admin_onboarding_incomplete",
            details=details,
            path=request.url.path,
        )
        return json_response(201, employee)

    def _delete_employee(self, request: httpx.Request, match: re.Match[str], row: TokenRow) -> httpx.Response:
        record = self.overlay.delete_employee(match["uuid"], request.url.path)
        if record is None:
            return not_found()
        if record["onboarded"]:
            return errors(422, "base", "invalid_operation", "Cannot delete onboarded employee")
        return httpx.Response(204)
