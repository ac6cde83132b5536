"""Provisioning requests and outcomes (docs/provisioning.md): one model per action, validated at the edge."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from access_sync.models import ids
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
Reason = Annotated[str, Field(min_length=1, max_length=200), Safe]


def utc_text(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`: how an end is written in outcomes, schedules and derived request ids."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _text_only(value: object) -> object:
    # pydantic would also take a number of seconds or a Unix time; an end is written as ISO-8601 text only.
    if not isinstance(value, str):
        raise ValueError("must be ISO-8601 text")
    return value


def _utc_to_the_second(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError("must include a time zone, e.g. 2026-12-01T18:00:00Z")
    return moment.astimezone(UTC).replace(microsecond=0)


# Weeks, days, hours, minutes, seconds: months and years have no fixed length, so they are refused.
_DURATION = re.compile(r"^P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _iso_duration(value: object) -> object:
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError("must be an ISO-8601 duration in weeks, days, hours, minutes or seconds, e.g. PT8H or P2D")
    return value


def _at_least_a_second(value: timedelta) -> timedelta:
    if value < timedelta(seconds=1):
        raise ValueError("must be at least one second")
    return value


EndTime = Annotated[datetime, BeforeValidator(_text_only), AfterValidator(_utc_to_the_second)]
Duration = Annotated[timedelta, BeforeValidator(_iso_duration), AfterValidator(_at_least_a_second)]


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


class TeamInvite(_Model):
    """A person to invite to a team by email alone (Guru): `CORE` members can belong to groups, `LIGHT` cannot."""

    email: Email
    member_type: Literal["CORE", "LIGHT"] = "CORE"


class _Request(_Model):
    request_id: RequestId
    connector: ConnectorName


class GrantRequest(_Request):
    action: Literal["grant"]
    entitlement_id: Id
    principal: ResourceId | Person
    # A time-bound grant: the access ends at expires_at, or `duration` after the grant succeeded.
    expires_at: EndTime | None = None
    duration: Duration | None = None

    @model_validator(mode="after")
    def _one_end(self) -> GrantRequest:
        if self.expires_at is not None and self.duration is not None:
            raise ValueError("give expires_at or duration, not both")
        return self

    @property
    def time_bound(self) -> bool:
        return self.expires_at is not None or self.duration is not None

    def end_after(self, granted: datetime) -> datetime | None:
        """When the access ends if it was granted at `granted`; None for a grant without an end."""
        if self.duration is not None:
            return (granted + self.duration).astimezone(UTC).replace(microsecond=0)
        return self.expires_at

    @property
    def grant_id(self) -> str:
        """The grant this request makes; a person named inline is the user with that email."""
        if isinstance(self.principal, Person):
            return ids.grant_id(self.entitlement_id, "user", self.principal.email)
        return ids.grant_id(self.entitlement_id, self.principal.resource_type, self.principal.id)


class RevokeRequest(_Request):
    action: Literal["revoke"]
    grant_id: Id
    reason: Reason | None = None

    @property
    def ends_a_grant(self) -> bool:
        """The revoke that a time-bound grant's end sends (its request_id is derived, see GrantEnd)."""
        return self.reason == "expired" and self.request_id.startswith("expire:")


class CreateAccountRequest(_Request):
    action: Literal["create_account"]
    # A Gusto employee has a name; a Guru invite is an address. Each forbids the other's fields, so a body
    # fits one of them at most.
    account: NewAccount | TeamInvite


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
    """The one outcome of one request, as filed under provisioning/results/ and published (docs/provisioning.md).

    Every field is always written: `resource` is null when nothing was affected, `expires_at` except on a
    time-bound grant whose end was arranged, `raw_body` except on a rejection.
    """

    request_id: str
    connector: str | None
    action: str | None
    status: OutcomeStatus
    message: str
    resource: dict[str, Any] | None = None
    attempts: int = 1
    completed_at: str
    expires_at: str | None = None
    raw_body: str | None = None

    @property
    def file_name(self) -> str:
        return outcome_file_name(self.request_id)


RESULTS_PREFIX = "provisioning/results"  # every outcome file lives under it (docs/provisioning.md)


def outcome_file_name(request_id: str) -> str:
    return f"{request_id}.json"


def outcome_key(file_name: str) -> str:
    """Where an outcome file of that name is filed, relative to DEST."""
    return f"{RESULTS_PREFIX}/{file_name}"


class Rehearsal(BaseModel):
    """What a request would do (`access-sync provision --dry-run`), with nothing changed or written.

    `would_call`: the change it would send, in `calls`; any other status is the outcome it would get without
    sending any change (a rejection, or an answer the connector reached by reading alone).
    """

    request_id: str
    connector: str | None
    action: str | None
    status: OutcomeStatus | Literal["would_call"]
    message: str
    calls: list[dict[str, Any]] = Field(default_factory=list)  # {"method", "path", "body"}
    expires_at: str | None = None


class GrantEnd(BaseModel):
    """The pending end of a time-bound grant: which access, when, and the revoke request that ends it."""

    model_config = ConfigDict(frozen=True)

    grant_id: str
    connector: str
    expires_at: str  # YYYY-MM-DDTHH:MM:SSZ
    granted_by: str  # the request_id of the grant that set this end

    @property
    def name(self) -> str:
        return ids.grant_end_name(self.grant_id)

    @property
    def request_id(self) -> str:
        return ids.grant_end_request_id(self.grant_id, self.expires_at)

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))

    def revoke_request(self) -> dict[str, str]:
        return {
            "request_id": self.request_id,
            "connector": self.connector,
            "action": "revoke",
            "grant_id": self.grant_id,
            "reason": "expired",
        }


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
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
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


def parse_request(
    raw_body: str, connectors: Mapping[str, KnownConnector], no_end: Mapping[str, str] | None = None
) -> ProvisioningRequest | Rejection:
    """A valid request for one of `connectors`, naming only resource types its connector knows, or a Rejection
    naming what is wrong (never an exception: bad input is not retried). `no_end` names the connectors whose
    grants cannot carry an end, with the reason."""
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
    refusal = no_end.get(request.connector) if no_end is not None else None
    if isinstance(request, GrantRequest) and request.time_bound and refusal:
        return _rejection(raw_body, refusal, body)
    return request
