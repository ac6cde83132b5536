"""Provisioning requests and outcomes (docs/provisioning.md): one model per action, validated at the edge."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

OutcomeStatus = Literal["succeeded", "already_done", "failed", "unsupported", "rejected"]
# request_id names the outcome file, so it must be a safe file name.
RequestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResourceId(_Model):
    resource_type: str
    id: Annotated[str, Field(min_length=1)]


class Person(_Model):
    """Someone who is not (yet) an employee or contractor, named inline."""

    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    first_name: Annotated[str, Field(min_length=1)]
    last_name: Annotated[str, Field(min_length=1)]


class NewAccount(_Model):
    first_name: Annotated[str, Field(min_length=1)]
    last_name: Annotated[str, Field(min_length=1)]
    email: str | None = None
    work_email: str | None = None
    middle_initial: str | None = None
    preferred_first_name: str | None = None
    date_of_birth: str | None = None
    self_onboarding: bool = False

    @model_validator(mode="after")
    def _email_for_self_onboarding(self) -> NewAccount:
        if self.self_onboarding and not self.email:
            raise ValueError("account.email is required when self_onboarding is true")
        return self


class _Request(_Model):
    request_id: RequestId
    connector: Literal["guru", "gusto"]


class GrantRequest(_Request):
    action: Literal["grant"]
    entitlement_id: Annotated[str, Field(min_length=1)]
    principal: ResourceId | Person


class RevokeRequest(_Request):
    action: Literal["revoke"]
    grant_id: Annotated[str, Field(min_length=1)]


class CreateAccountRequest(_Request):
    action: Literal["create_account"]
    account: NewAccount


class DeleteResourceRequest(_Request):
    action: Literal["delete_resource"]
    resource: ResourceId


ProvisioningRequest = Annotated[
    GrantRequest | RevokeRequest | CreateAccountRequest | DeleteResourceRequest, Field(discriminator="action")
]
_REQUEST: TypeAdapter[ProvisioningRequest] = TypeAdapter(ProvisioningRequest)
_REQUEST_ID: TypeAdapter[str] = TypeAdapter(RequestId)
ACTIONS = ("grant", "revoke", "create_account", "delete_resource")


def request_from_dict(data: dict[str, Any]) -> ProvisioningRequest:
    """Rebuilds a request already validated once (e.g. the payload stored by the idempotency layer)."""
    return _REQUEST.validate_python(data)


def _is_request_id(value: object) -> bool:
    try:
        _REQUEST_ID.validate_python(value)
    except ValidationError:
        return False
    return True


class ActionResult(BaseModel):
    """What a connector says about one change; the service adds the bookkeeping fields."""

    status: OutcomeStatus
    message: str
    resource: dict[str, Any] | None = None


class Outcome(BaseModel):
    request_id: str
    connector: str | None
    action: str | None
    status: OutcomeStatus
    message: str
    resource: dict[str, Any] | None = None
    attempts: int = 1
    completed_at: str
    raw_body: str | None = None

    @property
    def file_name(self) -> str:
        return f"{self.request_id}.json"


class Rejection(BaseModel):
    """A body that is not a valid request: why, and the id its outcome is filed under."""

    request_id: str
    connector: str | None
    action: str | None
    reason: str
    raw_body: str


def rejected_id(raw_body: str) -> str:
    return f"rejected-{hashlib.sha256(raw_body.encode()).hexdigest()[:16]}"


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"] if not str(part).endswith("Request"))
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def parse_request(raw_body: str) -> ProvisioningRequest | Rejection:
    """A valid request, or a Rejection naming what is wrong (never an exception: bad input is not retried)."""
    try:
        body = json.loads(raw_body)
    except ValueError:
        return Rejection(
            request_id=rejected_id(raw_body),
            connector=None,
            action=None,
            reason="the body is not JSON",
            raw_body=raw_body,
        )
    fields = body if isinstance(body, dict) else {}
    candidate = fields.get("request_id")
    usable_id = _is_request_id(candidate)
    try:
        return _REQUEST.validate_python(body)
    except ValidationError as exc:
        if not isinstance(body, dict):
            reason = "the body must be a JSON object"
        elif fields.get("action") not in ACTIONS:
            reason = f"unknown action {str(fields.get('action'))[:40]!r}; use one of {', '.join(ACTIONS)}"
        else:
            reason = _reason(exc)
        return Rejection(
            request_id=str(candidate) if usable_id else rejected_id(raw_body),
            connector=str(fields["connector"])[:40] if fields.get("connector") else None,
            action=str(fields["action"])[:40] if fields.get("action") else None,
            reason=reason,
            raw_body=raw_body,
        )
