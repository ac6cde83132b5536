"""What starts a sync (a schedule's Input, or the previous invocation's in_progress result) and what it returns."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from access_sync.models.snapshot import ChangeCounts, Counts

# Which names exist is the connector registry's business (access_sync.wiring.registry), not the model's.
ConnectorName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class SyncEvent(BaseModel):
    """The schedule's Input; an `in_progress` SyncResult parses as one too, so Step Functions can loop on it."""

    model_config = ConfigDict(extra="ignore")

    connector: ConnectorName
    trigger: str = "schedule"
    scheduled_time: str | None = None
    execution_id: str | None = None
    status: Literal["in_progress", "complete"] | None = None
    sync_id: str | None = None

    @property
    def resumes(self) -> bool:
        return self.status == "in_progress" and self.sync_id is not None


class SyncResult(BaseModel):
    status: Literal["complete", "in_progress"]
    connector: ConnectorName
    sync_id: str
    trigger: str = "schedule"
    scheduled_time: str | None = None
    execution_id: str | None = None
    snapshot: str | None = None
    location: str
    counts: Counts | None = None
    changes: ChangeCounts | None = None
    requests: int
    invocations: int
    duration_seconds: float
    resumed_from_checkpoint: bool = False


class SyncSkipped(BaseModel):
    """Another sync of the same connector holds the sync lease: this run wrote nothing."""

    status: Literal["skipped"] = "skipped"
    connector: ConnectorName
    sync_id: str | None = None  # the sync this invocation would have resumed, if any
    trigger: str = "schedule"
    scheduled_time: str | None = None
    execution_id: str | None = None
    reason: str
