"""Snapshot records, format version 2 (docs/snapshot-format.md).

Records are frozen pydantic models; `to_line()` gives the JSON line written to the gzip parts.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _json_string
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from access_sync.models import ids

SNAPSHOT_FORMAT: Literal["access-sync.snapshot"] = "access-sync.snapshot"
SNAPSHOT_VERSION: Literal[2] = 2
# Each kind has a sub-folder of its own in a snapshot, so that a table reading one folder reads only that kind.
RECORD_KINDS = ("resources", "entitlements", "grants")
KINDS = (*RECORD_KINDS, "changes")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_line(self) -> bytes:
        return self.model_dump_json().encode() + b"\n"


class ResourceRef(_Record):
    resource_type: str
    id: str


class UserTrait(_Record):
    email: str | None
    login: str | None


class Resource(_Record):
    resource_type: str
    id: str
    display_name: str
    parent: ResourceRef | None = None
    status: Literal["enabled", "disabled"] = "enabled"
    user: UserTrait | None = None
    profile: dict[str, Any] = Field(default_factory=dict)

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(resource_type=self.resource_type, id=self.id)

    @property
    def key(self) -> str:
        return ids.resource_key(self.resource_type, self.id)


def resource_line(
    resource_type: str,
    id: str,
    display_name: str,
    parent: ResourceRef | None,
    status: Literal["enabled", "disabled"],
    user: tuple[str | None, str | None] | None,
    profile: dict[str, Any],
) -> bytes:
    """Exactly `Resource(...).to_line()` for the same fields (`user` as (email, login)), without building models.

    A large company's people are tens of thousands of resources, and validating the models costs more than
    writing the line.
    """
    record = {
        "resource_type": resource_type,
        "id": id,
        "display_name": display_name,
        "parent": None if parent is None else {"resource_type": parent.resource_type, "id": parent.id},
        "status": status,
        "user": None if user is None else {"email": user[0], "login": user[1]},
        "profile": profile,
    }
    return to_json(record) + b"\n"


class Entitlement(_Record):
    id: str
    resource: ResourceRef
    slug: str
    purpose: Literal["assignment", "permission"]
    display_name: str
    grantable_to: list[str]

    @classmethod
    def for_resource(
        cls,
        resource: ResourceRef,
        slug: str,
        purpose: Literal["assignment", "permission"],
        display_name: str,
        grantable_to: list[str],
    ) -> Entitlement:
        return cls(
            id=ids.entitlement_id(resource.resource_type, resource.id, slug),
            resource=resource,
            slug=slug,
            purpose=purpose,
            display_name=display_name,
            grantable_to=grantable_to,
        )


class Grant(_Record):
    id: str
    entitlement: str
    principal: ResourceRef

    @classmethod
    def of(cls, entitlement: str, principal: ResourceRef) -> Grant:
        return cls(
            id=ids.grant_id(entitlement, principal.resource_type, principal.id),
            entitlement=entitlement,
            principal=principal,
        )


def grant_line(entitlement: str, principal_type: str, principal_id: str) -> bytes:
    """Exactly `Grant.of(entitlement, ResourceRef(...)).to_line()`, without building models.

    Grants are the bulk of a snapshot (600,000 memberships in a large Guru team), and the models cost
    six times more than the line itself.
    """
    gid = ids.grant_id(entitlement, principal_type, principal_id)
    return (
        f'{{"id":{_json_string(gid)},"entitlement":{_json_string(entitlement)},"principal":'
        f'{{"resource_type":{_json_string(principal_type)},"id":{_json_string(principal_id)}}}}}\n'
    ).encode()


class ResourceType(_Record):
    id: str
    display_name: str
    traits: list[str] = Field(default_factory=list)


class FileInfo(BaseModel):
    records: int
    bytes: int
    sha256: str


class Counts(BaseModel):
    resources: dict[str, int]
    entitlements: int
    grants: int


class Source(BaseModel):
    base_url: str
    requests: int


class ChangeCounts(BaseModel):
    """What changed since the baseline, the snapshot latest.json named when the sync started (None: the first)."""

    baseline_sync_id: str | None
    added: int = 0
    removed: int = 0
    modified: int = 0

    @property
    def total(self) -> int:
        return self.added + self.removed + self.modified


class Manifest(BaseModel):
    """`files` keys are relative to the snapshot folder. Version 1 manifests (one file per kind at the folder's
    top, no `changes`) still parse, so that the first version 2 sync can use such a snapshot as its baseline."""

    format: Literal["access-sync.snapshot"] = SNAPSHOT_FORMAT
    version: Literal[1, 2] = SNAPSHOT_VERSION
    connector: str
    sync_id: str
    started_at: str
    completed_at: str
    counts: Counts
    files: dict[str, FileInfo]
    resource_types: list[ResourceType]
    changes: ChangeCounts | None = None
    source: Source
    invocations: int = 1

    def parts(self, kind: str) -> list[str]:
        """The files holding `kind`'s records, in order (keys relative to the snapshot folder)."""
        return sorted(key for key in self.files if key.startswith(f"{kind}/") or key == f"{kind}.jsonl.gz")


class LatestPointer(BaseModel):
    sync_id: str
    path: str
    completed_at: str
