"""Secret shapes (docs/secrets.md). Token fields are SecretStr so they never print, log or serialise by accident."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from access_sync.errors import ConfigurationError


class _Secret(BaseModel):
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    @classmethod
    def parse(cls, raw: Any, where: str) -> Any:
        """Validates a stored secret; the error names the missing fields, never the values."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            fields = sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
            raise ConfigurationError(
                f"The credentials in {where} are incomplete or malformed (check: {', '.join(fields) or 'the JSON'}); "
                "see docs/secrets.md for the expected shape."
            ) from None


def _required(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty")
    return value


class GuruCredentials(_Secret):
    user_email: str
    api_token: SecretStr

    _filled = field_validator("user_email", "api_token")(_required)


class GustoCredentials(_Secret):
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    access_token: SecretStr | None = None
    access_token_expires_at: datetime | None = None
    environment: Literal["production", "demo"] = "production"

    _filled = field_validator("client_id", "client_secret", "refresh_token")(_required)

    @field_validator("access_token", "access_token_expires_at", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    def stored_form(self) -> dict[str, Any]:
        """The JSON written back to the secret store (the only place secrets are unwrapped)."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret.get_secret_value(),
            "refresh_token": self.refresh_token.get_secret_value(),
            "access_token": self.access_token.get_secret_value() if self.access_token else "",
            "access_token_expires_at": self.access_token_expires_at.isoformat() if self.access_token_expires_at else "",
            "environment": self.environment,
        }
