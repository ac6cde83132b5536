"""Running the real Lambda handlers outside Lambda (the demo, the benchmark and the tests)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from access_sync.errors import ConfigurationError

# devtools/access_sync_dev/local_lambda.py -> the repository root
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LocalLambdaContext:
    """The parts of a Lambda context that Powertools and the handlers read."""

    function_name: str = "access-sync-local"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:access-sync-local"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    # Each call takes the next value until one is left, so a test can script a Lambda running out of time.
    remaining_millis: list[int] = field(default_factory=lambda: [900_000])

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis.pop(0) if len(self.remaining_millis) > 1 else self.remaining_millis[0]


def load_handler_module(function: str) -> ModuleType:
    """Imports `functions/<function>/app.py` from the source checkout, as Lambda would."""
    path = REPO_ROOT / "functions" / function / "app.py"
    if not path.exists():
        raise ConfigurationError(f"{path} not found: run this from a source checkout of access-sync.")
    spec = importlib.util.spec_from_file_location(f"access_sync_functions_{function}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
