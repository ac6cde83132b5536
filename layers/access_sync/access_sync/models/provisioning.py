"""Provisioning requests and outcomes (docs/provisioning.md): one model per action, validated at the edge."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from access_sync.models.snapshot import ResourceType
from access_sync.models.sync_events import ConnectorName

OutcomeStatus = Literal["succeeded", "already_done", "failed", "unsupported", "rejected"]
# request_id names the outcome file, so it must be a safe file name.
RequestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}$")]
# An SQS message holds at most 256 KiB; a real request is well under 4 KiB. Larger bodies are refused whole, so
# an outcome (which keeps the raw body of a rejection) always fits a DynamoDB item and an EventBridge event.
MAX_BODY_BYTES = 16 * 1024
MAX_RAW_BODY_KEPT = 16 * 1024

# Control characters (NUL included), bidirectional overrides and lone surrogates have no place in a name or an
# id: they hide what a reviewer reads, or cannot be stored at all.
_UNSAFE = re.compile("[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _safe(value: str) -> str:
    if _UNSAFE.search(value):
        raise ValueError("contains a control, bidirectional-override or invalid Unicode character")
    return value


Safe = AfterValidator(_safe)
Code = Annotated[str, Field(min_length=1, max_length=40), Safe]
Name = Annotated[str, Field(min_length=1, max_length=100), Safe]
Id = Annotated[str, Field(min_length=1, max_length=512), Safe]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), Safe]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResourceId(_Model):
    resource_type: Code
    id: Id


class Person(_Model):
    """Someone who is not (yet) an employee or contractor, named inline."""

    email: Email
    first_name: Name
    last_name: Name


class NewAccount(_Model):
    first_name: Name
    last_name: Name
    email: Email | None = None
    work_email: Email | None = None
    middle_initial: Annotated[str, Field(max_length=1), Safe] | None = None
    preferred_first_name: Name | None = None
    date_of_birth: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    self_onboarding: bool = False

    @model_validator(mode="after")
    def _email_for_self_onboarding(self) -> NewAccount:
        if self.self_onboarding and not self.email:
            raise ValueError("account.email is required when self_onboarding is true")
        return self


class _Request(_Model):
    request_id: RequestId
    connector: ConnectorName


class GrantRequest(_Request):
    action: Literal["grant"]
    entitlement_id: Id
    principal: ResourceId | Person


class RevokeRequest(_Request):
    action: Literal["revoke"]
    grant_id: Id


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


class ProvisioningOutcome(BaseModel):
    """The one outcome of one request, as filed under provisioning/results/ and published (docs/provisioning.md)."""

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
    """A body that is not a request to carry out: why, the id its outcome is filed under, and the body's own id
    (`rejected-<hash>`, for a rejection that must not take the request_id's file)."""

    request_id: str
    body_id: str
    connector: str | None
    action: str | None
    reason: str
    raw_body: str

    @classmethod
    def of(cls, request: ProvisioningRequest, reason: str, raw_body: str) -> Rejection:
        """A well-formed request that still cannot be carried out (e.g. its request_id was used for another)."""
        fields = {"request_id": request.request_id, "connector": request.connector, "action": request.action}
        return _rejection(raw_body, reason, fields)


def rejected_id(raw_body: str) -> str:
    return f"rejected-{hashlib.sha256(raw_body.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


def storable(text: str) -> str:
    """`text` with anything UTF-8 cannot hold (lone surrogates) written as `\\udXXX` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"] if not str(part).endswith("Request"))
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def _rejection(raw_body: str, reason: str, fields: dict[str, Any] | None = None) -> Rejection:
    fields = fields or {}
    candidate = fields.get("request_id")
    return Rejection(
        request_id=str(candidate) if _is_request_id(candidate) else rejected_id(raw_body),
        body_id=rejected_id(raw_body),
        connector=storable(str(fields["connector"])[:40]) if fields.get("connector") else None,
        action=storable(str(fields["action"])[:40]) if fields.get("action") else None,
        reason=reason,
        raw_body=storable(raw_body[:MAX_RAW_BODY_KEPT]),
    )


class KnownConnector(Protocol):
    """What a request is checked against: the resource types the connector knows (its ConnectorSpec)."""

    @property
    def resource_types(self) -> Sequence[ResourceType]: ...


def _resource_types(request: ProvisioningRequest) -> list[str]:
    """The resource types a request names: the principal of a grant (unless given inline), a deleted resource."""
    if isinstance(request, GrantRequest) and isinstance(request.principal, ResourceId):
        return [request.principal.resource_type]
    if isinstance(request, DeleteResourceRequest):
        return [request.resource.resource_type]
    return []


def _unknown_type(request: ProvisioningRequest, connector: KnownConnector) -> str | None:
    known = [kind.id for kind in connector.resource_types]
    for kind in _resource_types(request):
        if kind not in known:
            return f"unknown resource_type {storable(kind)!r} for {request.connector}; use one of {', '.join(known)}"
    return None


def parse_request(raw_body: str, connectors: Mapping[str, KnownConnector]) -> ProvisioningRequest | Rejection:
    """A valid request for one of `connectors`, naming only resource types its connector knows, or a Rejection
    naming what is wrong (never an exception: bad input is not retried)."""
    if len(raw_body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        return _rejection(raw_body, f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
    try:
        body = json.loads(raw_body)
    except RecursionError:
        return _rejection(raw_body, "the body is nested too deeply")
    except ValueError:
        return _rejection(raw_body, "the body is not JSON")
    if not isinstance(body, dict):
        return _rejection(raw_body, "the body must be a JSON object")
    try:
        request = _REQUEST.validate_python(body)
    except ValidationError as exc:
        if body.get("action") not in ACTIONS:
            reason = f"unknown action {storable(str(body.get('action'))[:40])!r}; use one of {', '.join(ACTIONS)}"
        else:
            reason = _reason(exc)
        return _rejection(raw_body, reason, body)
    except RecursionError:
        return _rejection(raw_body, "the body is nested too deeply", body)
    if request.connector not in connectors:
        return _rejection(
            raw_body, f"unknown connector {request.connector!r}; use one of {', '.join(sorted(connectors))}", body
        )
    if unknown := _unknown_type(request, connectors[request.connector]):
        return _rejection(raw_body, unknown, body)
    return request
