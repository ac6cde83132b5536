"""The Lambda environment (DESIGN §7) as one validated model; nothing else reads os.environ for it."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator

from access_sync.errors import ConfigurationError


class LambdaSettings(BaseModel):
    snapshot_bucket: str
    guru_secret_id: str | None = None
    gusto_secret_id: str | None = None
    idempotency_table: str | None = None
    event_bus_name: str = "default"
    guru_base_url: str | None = None
    gusto_base_url: str | None = None
    sync_safety_margin_seconds: float = 60.0
    checkpoint_max_age_seconds: int = 86400
    guru_max_concurrency: int = 16

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

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(f"The function's environment lacks {name.upper()}.")
        return str(value)
