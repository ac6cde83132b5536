"""The Lambda environment (docs/operations.md) as one validated model; nothing else reads os.environ for it.

Settings of one connector are named by that connector's ConnectorSettings: its secret and concurrency are read
by `connector_environment`, its base URL by `connections.checked_base_url` (which the CLI shares).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from access_sync.connectors.spec import ConnectorSettings
from access_sync.errors import ConfigurationError


class LambdaSettings(BaseModel):
    snapshot_bucket: str
    idempotency_table: str | None = None
    event_bus_name: str = "default"
    glue_database: str | None = None  # unset: no partitions are registered
    change_events_max: int = Field(default=500, ge=0)
    sync_safety_margin_seconds: float = 60.0
    checkpoint_max_age_seconds: int = 86400
    # Ends of time-bound grants (the provisioning function): the schedule group, the role Scheduler assumes
    # and the queue it sends the revoke to. All three, or none (then time-bound grants are not carried out).
    expiry_schedule_group: str | None = None
    expiry_scheduler_role_arn: str | None = None
    provision_queue_arn: str | None = None
    # Findings after every sync, and the leaver remediation (docs/findings.md).
    provision_queue_url: str | None = None
    leaver_remediation: Literal["off", "revoke_groups", "remove_account"] = "off"
    remediation_max_per_run: int = Field(default=10, ge=0)
    remediation_dry_run: bool = False
    finding_events_max: int = Field(default=500, ge=0)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @classmethod
    def from_env(cls) -> LambdaSettings:
        names = cls.model_fields.keys()
        values = {name: os.environ[name.upper()] for name in names if os.environ.get(name.upper())}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            fields = ", ".join(sorted(str(err["loc"][0]).upper() for err in exc.errors() if err["loc"]))
            raise ConfigurationError(f"The function's environment is incomplete or invalid: {fields}.") from None

    def grant_end_scheduling(self) -> tuple[str, str, str] | None:
        """(schedule group, scheduler role ARN, queue ARN), or None when the function is not set up for ends."""
        named = (self.expiry_schedule_group, self.expiry_scheduler_role_arn, self.provision_queue_arn)
        if not any(named):
            return None
        group, role, queue = named
        if group is None or role is None or queue is None:
            raise ConfigurationError(
                "The function's environment must set all of EXPIRY_SCHEDULE_GROUP, EXPIRY_SCHEDULER_ROLE_ARN "
                "and PROVISION_QUEUE_ARN, or none of them."
            )
        return group, role, queue

    def require_table(self) -> str:
        if not self.idempotency_table:
            raise ConfigurationError("The function's environment lacks IDEMPOTENCY_TABLE.")
        return self.idempotency_table


class ConnectorEnvironment(BaseModel):
    """One connector's variables in a function's environment."""

    secret_id: str
    concurrency: int = 16


def connector_environment(settings: ConnectorSettings) -> ConnectorEnvironment:
    secret_id = os.environ.get(settings.secret_id_env)
    if not secret_id:
        raise ConfigurationError(f"The function's environment lacks {settings.secret_id_env}.")
    concurrency = os.environ.get(settings.concurrency_env) if settings.concurrency_env else None
    try:
        return ConnectorEnvironment(secret_id=secret_id, concurrency=concurrency or 16)
    except ValidationError:
        raise ConfigurationError(f"The function's environment has an invalid {settings.concurrency_env}.") from None
