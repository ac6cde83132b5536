"""Secret stores: environment variables, a local JSON file (atomic replace), or a Secrets Manager secret
(Powertools Parameters)."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from access_sync.errors import ConfigurationError
from access_sync.stores.aws_errors import aws_code, translate


class SecretStore(Protocol):
    def describe(self) -> str: ...

    def read(self, fresh: bool = False) -> dict[str, Any]:
        """The stored JSON; `fresh` bypasses any cache (needed right after a write)."""
        ...

    def write(self, value: dict[str, Any]) -> None:
        """Replaces the stored JSON atomically: readers see the old or the new value, never a mix."""
        ...


class EnvSecretStore:
    """Credentials in environment variables: each field from the first of its variables that is set."""

    def __init__(self, fields: Mapping[str, Sequence[str]], missing: str) -> None:
        self.fields = fields
        self.missing = missing  # the sentence that says which variables to set

    def describe(self) -> str:
        return "the environment (" + ", ".join(names[0] for names in self.fields.values()) + ")"

    def read(self, fresh: bool = False) -> dict[str, Any]:
        found = {
            field: next((os.environ[n] for n in names if os.environ.get(n)), None)
            for field, names in self.fields.items()
        }
        if not all(found.values()):
            raise ConfigurationError(self.missing)
        return found

    def write(self, value: dict[str, Any]) -> None:
        raise ConfigurationError(
            "Credentials from environment variables cannot be updated; store them in a file or secret."
        )


class FileSecretStore:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return f"the file {self.path}"

    def read(self, fresh: bool = False) -> dict[str, Any]:
        try:
            value = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise ConfigurationError(f"The credentials file {self.path} does not exist.") from None
        except (OSError, ValueError):
            raise ConfigurationError(f"The credentials file {self.path} is not readable JSON.") from None
        if not isinstance(value, dict):
            raise ConfigurationError(f"The credentials file {self.path} must hold a JSON object.")
        return value

    def write(self, value: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(value, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class SecretsManagerStore:
    def __init__(self, secret_id: str) -> None:
        self.secret_id = secret_id

    def describe(self) -> str:
        return f"the secret {self.secret_id}"

    def read(self, fresh: bool = False) -> dict[str, Any]:
        from aws_lambda_powertools.utilities import parameters
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            value = parameters.get_secret(self.secret_id, transform="json", force_fetch=fresh)
        except parameters.exceptions.TransformParameterError:
            raise ConfigurationError(f"The secret {self.secret_id} does not hold JSON.") from None
        except BotoCoreError as exc:  # no region or no credentials: raised before any request
            raise translate(exc, f"read the secret {self.secret_id}") from None
        except (parameters.exceptions.GetParameterError, ClientError) as exc:
            raise ConfigurationError(
                f"Cannot read the secret {self.secret_id} ({aws_code(exc)}); check its name and this role's access."
            ) from None
        if not isinstance(value, dict):
            raise ConfigurationError(f"The secret {self.secret_id} must hold a JSON object.")
        return value

    def write(self, value: dict[str, Any]) -> None:
        from aws_lambda_powertools.utilities import parameters
        from botocore.exceptions import BotoCoreError

        try:
            # A fresh ClientRequestToken makes a retried write of this same value idempotent.
            parameters.set_secret(self.secret_id, json.dumps(value), client_request_token=str(uuid.uuid4()))
        except BotoCoreError as exc:
            raise translate(exc, f"write the secret {self.secret_id}") from None
        except parameters.exceptions.SetSecretError as exc:
            raise ConfigurationError(
                f"Cannot write the secret {self.secret_id} ({aws_code(exc)}); check this role's PutSecretValue."
            ) from None
