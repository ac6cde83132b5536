"""Findings records and their run files (docs/findings.md).

A finding is written as a plain dict (many thousands per run, one line each); the manifest, the latest
pointer and the identity overrides are validated models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["leaver_with_access", "admin_not_current_worker", "unmatched_account", "ambiguous_identity"]
SEVERITY: dict[str, str] = {
    "leaver_with_access": "high",
    "admin_not_current_worker": "high",
    "unmatched_account": "medium",
    "ambiguous_identity": "low",
}
KINDS: tuple[str, ...] = tuple(SEVERITY)
# What Gusto says about a person on the run's date.
PersonStatus = Literal["active", "left", "scheduled_to_leave"]

Finding = dict[str, Any]


def account_key(connector: str, resource_type: str, resource_id: str) -> str:
    """`guru:user:<member id>`, `gusto:employee:<uuid>`: how findings and config/identities.json name accounts."""
    return f"{connector}:{resource_type}:{resource_id}"


def finding_id(kind: str, connector: str, resource_type: str, resource_id: str) -> str:
    return f"{kind}:{account_key(connector, resource_type, resource_id)}"


class FindingsManifest(BaseModel):
    """`manifest.json` of a findings run: written last, so a run is complete if and only if it exists."""

    run_id: str
    started_at: str
    completed_at: str
    inputs: dict[str, str]  # connector → the sync_id of the snapshot the run read
    counts: dict[str, Any]


class FindingsPointer(BaseModel):
    """`findings/latest.json`: the newest complete run."""

    run_id: str
    path: str
    completed_at: str


class IdentityOverride(BaseModel):
    """One entry of `config/identities.json`: the account belongs to `person`, or to nobody on purpose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str = Field(pattern=r"^(guru|gusto):[a-z_]+:.+$")
    person: str | None = Field(default=None, pattern=r"^gusto:(employee|contractor):.+$")
    ignore: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_of_person_or_ignore(self) -> IdentityOverride:
        if (self.person is None) == (self.ignore is None):
            raise ValueError("give exactly one of person or ignore")
        return self
