"""`make local-aws` serves what `sam local invoke --env-vars env.json` expects: the real sync handler, given
env.json's variables (with this run's ports), finds every bucket, secret and table it names."""

from __future__ import annotations

import json

import pytest

from access_sync_dev.local_lambda import REPO_ROOT
from access_sync_dev.sam_local import SamLocalNames, sam_local_world
from tests.helpers import LocalLambdaContext, load_event, load_handler_module


def test_the_local_aws_is_seeded_with_exactly_the_names_env_json_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    names = SamLocalNames.from_repository()
    environment = json.loads((REPO_ROOT / "env.json").read_text())
    assert (names.aws_port, names.guru_port, names.gusto_port) == (5000, 8081, 8082)

    with sam_local_world(names, ports=False) as (stack, guru_root, gusto_root):
        assert stack.client("s3").list_buckets()["Buckets"][0]["Name"] == names.bucket
        secrets = {s["Name"] for s in stack.client("secretsmanager").list_secrets()["SecretList"]}
        assert secrets == {names.guru_secret_id, names.gusto_secret_id}
        assert stack.client("dynamodb").list_tables()["TableNames"] == [names.table]
        assert stack.queue_url().endswith(f"/{names.queue}")

        served = {
            "AWS_ENDPOINT_URL": stack.endpoint,
            "GURU_BASE_URL": f"{guru_root}/api/v1",
            "GUSTO_BASE_URL": gusto_root,
        }
        for function, event in (("GuruSyncFunction", "guru_sync"), ("GustoSyncFunction", "gusto_sync")):
            for name, value in {**environment[function], **served}.items():
                monkeypatch.setenv(name, value)
            result = load_handler_module(event).handler(load_event(f"{event}_schedule.json"), LocalLambdaContext())
            assert result["status"] == "complete", function
