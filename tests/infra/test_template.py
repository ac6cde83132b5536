"""Specification of template.yaml (and samconfig.toml, env.json), checked on the SAM-transformed template.

Each test states one property of the deployed stack. Fixtures: tests/infra/conftest.py.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import cfnlint.api
import pytest

from access_sync.snapshot.layout import checkpoint_key, latest_key, segment_key, segments_prefix, snapshot_folder
from access_sync.stores.lease import lease_key, sync_lease_key
from access_sync.stores.rate_budget import rate_key

Template = dict[str, Any]

SYNC_FUNCTIONS = ("GuruSyncFunction", "GustoSyncFunction")
ALL_FUNCTIONS = (*SYNC_FUNCTIONS, "ProvisioningFunction")
STATE_MACHINES = {"guru": "GuruSyncStateMachine", "gusto": "GustoSyncStateMachine"}
SYNC_FUNCTION_OF = {"guru": "GuruSyncFunction", "gusto": "GustoSyncFunction"}
DATA_SERVICES = ("s3:", "secretsmanager:", "dynamodb:", "events:", "sqs:", "glue:")
LAMBDA_TRANSIENT_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


# --------------------------------------------------------------------------- helpers


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def get_att(name: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, attribute]}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def resources_of_type(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def props(template: Template, logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id].get("Properties", {})
    return properties


def env_vars(template: Template, function: str) -> dict[str, Any]:
    variables: dict[str, Any] = props(template, function)["Environment"]["Variables"]
    return variables


class Permission(NamedTuple):
    action: str
    resource: str  # canonical JSON of the Resource entry
    condition: str  # canonical JSON of the statement's Condition (or "null")


def permission(action: str, resource: Any, condition: Any = None) -> Permission:
    return Permission(action, canonical(resource), canonical(condition))


def allowed_permissions(template: Template, role: str) -> set[Permission]:
    granted: set[Permission] = set()
    for policy in props(template, role).get("Policies", []):
        for statement in listify(policy["PolicyDocument"]["Statement"]):
            if statement["Effect"] != "Allow":
                continue
            for action in listify(statement["Action"]):
                for resource in listify(statement["Resource"]):
                    granted.add(permission(action, resource, statement.get("Condition")))
    return granted


def data_permissions(template: Template, role: str) -> set[Permission]:
    return {p for p in allowed_permissions(template, role) if p.action.startswith(DATA_SERVICES)}


def prefix_condition(prefix: str) -> dict[str, Any]:
    return {"StringLike": {"s3:prefix": prefix}}


def snapshot_prefix_permissions(connector: str) -> set[Permission]:
    objects = sub(f"${{SnapshotBucket.Arn}}/snapshots/connector={connector}/*")
    return {
        *(
            permission(action, objects)
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
        ),
        permission(
            "s3:ListBucket",
            get_att("SnapshotBucket", "Arn"),
            prefix_condition(f"snapshots/connector={connector}/*"),
        ),
    }


def glue_arn(resource: str) -> dict[str, Any]:
    return sub(f"arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


SNAPSHOT_TABLES = ("resources", "entitlements", "grants", "changes")
EVENT_BUS = sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}")


def announcement_permissions() -> set[Permission]:
    """Registering a snapshot's partitions and a findings run's (the table is read to copy its storage
    description) and publishing their events: nothing more of Glue, and only the snapshot and findings tables."""
    resources = [glue_arn("catalog"), glue_arn("database/${GlueDatabase}")]
    resources += [glue_arn(f"table/${{GlueDatabase}}/{table}") for table in (*SNAPSHOT_TABLES, "findings")]
    return {
        *(permission(action, r) for action in ("glue:GetTable", "glue:BatchCreatePartition") for r in resources),
        permission("events:PutEvents", EVENT_BUS),
    }


def findings_permissions(other: str) -> set[Permission]:
    """Each sync function's share of the findings: the other connector's snapshots and the identity overrides
    read only, findings/ read and written, remediation requests sent and finding events published."""
    findings = sub("${SnapshotBucket.Arn}/findings/*")
    return {
        permission("s3:GetObject", sub(f"${{SnapshotBucket.Arn}}/snapshots/connector={other}/*")),
        permission("s3:GetObject", sub("${SnapshotBucket.Arn}/config/identities.json")),
        *(permission(action, findings) for action in ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")),
        permission(
            "s3:ListBucket",
            get_att("SnapshotBucket", "Arn"),
            {"StringLike": {"s3:prefix": ["findings/*", f"snapshots/connector={other}/*", "config/*"]}},
        ),
        permission("sqs:SendMessage", get_att("ProvisionQueue", "Arn")),
        permission("events:PutEvents", EVENT_BUS),
    }


def table_permissions() -> set[Permission]:
    table = get_att("IdempotencyTable", "Arn")
    return {
        permission(action, table)
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
    }


def lease_items_only() -> dict[str, Any]:
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["lease#*"]}}


def sync_lease_permissions(connector: str) -> set[Permission]:
    """Take, renew, hand over and release its own connector's sync lease (`sync#<connector>`), nothing else."""
    only = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [sync_lease_key(connector)]}}
    return {
        permission(action, get_att("IdempotencyTable", "Arn"), only)
        for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
    }


def rate_items_only() -> dict[str, Any]:
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["rate#*"]}}


def may_touch_item(template: Template, role: str, action: str, key: str) -> bool:
    """Whether `role` may do `action` on the IdempotencyTable item `key` (its Allow statements, conditions
    on dynamodb:LeadingKeys included)."""
    table = canonical(get_att("IdempotencyTable", "Arn"))
    for p in allowed_permissions(template, role):
        if p.action != action or p.resource != table:
            continue
        condition = json.loads(p.condition)
        if condition is None:
            return True
        (operator, tests), *others = condition.items()
        assert not others and operator == "ForAllValues:StringLike", f"condition not understood: {condition}"
        assert set(tests) == {"dynamodb:LeadingKeys"}, f"condition not understood: {condition}"
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in tests["dynamodb:LeadingKeys"]):
            return True
    return False


ACCOUNT = "123456789012"


def role_arn(logical_id: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/access-sync-{logical_id}-ABC123"


def resolve(template: Template, value: Any, parameters: dict[str, Any]) -> Any:
    """Evaluates the intrinsic functions a policy document uses, for the given parameter values."""
    if isinstance(value, list):
        return [resolve(template, v, parameters) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        return parameters[argument] if argument in parameters else template["Parameters"][argument]["Default"]
    if function == "Fn::GetAtt":
        assert argument[1] == "Arn" and template["Resources"][argument[0]]["Type"] == "AWS::IAM::Role", argument
        return role_arn(argument[0])
    if function == "Fn::Join":
        separator, items = argument
        return separator.join(resolve(template, items, parameters))
    if function == "Fn::Split":
        separator, text = argument
        return resolve(template, text, parameters).split(separator)
    if function == "Fn::If":
        name, when_true, when_false = argument
        holds = resolve(template, template["Conditions"][name], parameters)
        return resolve(template, when_true if holds else when_false, parameters)
    if function == "Fn::Not":
        return not resolve(template, argument[0], parameters)
    if function == "Fn::Equals":
        left, right = resolve(template, argument, parameters)
        return left == right
    raise AssertionError(f"intrinsic function not understood by this test: {function}")


def may_send_to_provision_queue(template: Template, principal: str | None, senders: str = "") -> bool:
    """Whether the queue policy lets `principal` (a role ARN, None for an anonymous caller) send, with the
    parameter ProvisioningSenderRoleArns set to `senders`. Its own IAM policy must allow it as well."""
    parameters = {"ProvisioningSenderRoleArns": senders.split(",")}
    for policy in resources_of_type(template, "AWS::SQS::QueuePolicy").values():
        if ref("ProvisionQueue") not in policy["Properties"]["Queues"]:
            continue
        for statement in listify(policy["Properties"]["PolicyDocument"]["Statement"]):
            if statement["Effect"] != "Deny" or "sqs:SendMessage" not in listify(statement["Action"]):
                continue
            assert statement["Principal"] in ("*", {"AWS": "*"}), statement
            assert statement["Resource"] == get_att("ProvisionQueue", "Arn"), statement
            ((operator, tests),) = statement["Condition"].items()
            assert operator == "ArnNotLike" and set(tests) == {"aws:PrincipalArn"}, statement["Condition"]
            allowed = listify(resolve(template, tests["aws:PrincipalArn"], parameters))
            if principal is None or not any(fnmatch.fnmatchcase(principal, pattern) for pattern in allowed):
                return False
    return True


def lifecycle_rules(template: Template, true_conditions: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The bucket's rules as deployed when exactly `true_conditions` hold (the defaults: none of them)."""
    rules: list[dict[str, Any]] = []
    for rule in props(template, "SnapshotBucket")["LifecycleConfiguration"]["Rules"]:
        if "Fn::If" in rule:
            condition, when_true, when_false = rule["Fn::If"]
            rule = when_true if condition in true_conditions else when_false
        if rule != ref("AWS::NoValue"):
            rules.append(rule)
    return rules


def expiring_rules_for(template: Template, key: str, true_conditions: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Enabled rules that expire the current version of `key`."""
    return [
        r
        for r in lifecycle_rules(template, true_conditions)
        if r["Status"] == "Enabled"
        and ("ExpirationInDays" in r or "ExpirationDate" in r)
        and key.startswith(r.get("Prefix", ""))
        and not r.get("TagFilters")
    ]


def state_machine_definition(template: Template, state_machine: str) -> dict[str, Any]:
    definition = props(template, state_machine)["DefinitionString"]
    if isinstance(definition, dict):  # SAM emits {"Fn::Join": ["\n", [lines]]}
        separator, lines = definition["Fn::Join"]
        definition = separator.join(lines)
    parsed: dict[str, Any] = json.loads(definition)
    return parsed


def alarms_for(template: Template, namespace: str, metric: str, dimensions: dict[str, Any]) -> list[str]:
    wanted = sorted((name, canonical(value)) for name, value in dimensions.items())
    found = []
    for logical_id, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        p = alarm["Properties"]
        actual = sorted((d["Name"], canonical(d["Value"])) for d in p.get("Dimensions", []))
        if p.get("Namespace") == namespace and p.get("MetricName") == metric and actual == wanted:
            found.append(logical_id)
    return found


def breaches(alarm: dict[str, Any], value: float) -> bool:
    threshold = float(alarm["Threshold"])
    compare = {
        "GreaterThanThreshold": value > threshold,
        "GreaterThanOrEqualToThreshold": value >= threshold,
        "LessThanThreshold": value < threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
    }
    return compare[alarm["ComparisonOperator"]]


# --- a tiny interpreter for the JSONPath subset the sync state machine uses ---------------------


class Execution(NamedTuple):
    outcome: str  # "Succeed" or "Fail"
    payloads: list[dict[str, Any]]  # what the sync function was invoked with, in order
    final_state: str


def _choice_rule_matches(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_choice_rule_matches(r, data) for r in rule["And"])
    field = rule["Variable"].removeprefix("$.")
    if "IsPresent" in rule:
        return (field in data) == rule["IsPresent"]
    if "StringEquals" in rule:
        if field not in data:  # Step Functions would fail the execution with States.Runtime
            raise AssertionError(f"Choice reads missing field {field!r} without an IsPresent guard")
        return bool(data[field] == rule["StringEquals"])
    raise AssertionError(f"choice rule not understood by this test interpreter: {rule}")


def run_state_machine(
    definition: dict[str, Any], first_input: dict[str, Any], results: Iterable[dict[str, Any] | Exception]
) -> Execution:
    """Run `definition`; the sync function answers each invocation with the next item of `results`."""
    answers: Iterator[dict[str, Any] | Exception] = iter(results)
    payloads: list[dict[str, Any]] = []
    name, data = definition["StartAt"], first_input
    for _ in range(100):
        state = definition["States"][name]
        if state["Type"] in ("Succeed", "Fail"):
            return Execution(state["Type"], payloads, name)
        if state["Type"] == "Task":
            assert state["Resource"] == "arn:aws:states:::lambda:invoke"
            assert state["Parameters"]["Payload.$"] == "$", "the function must receive the whole state"
            payloads.append(data)
            answer = next(answers)
            if isinstance(answer, Exception):
                (catcher,) = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
                name, data = catcher["Next"], {**data, "error": {"Error": type(answer).__name__}}
                continue
            assert state["OutputPath"] == "$.Payload"
            name, data = state["Next"], answer
        elif state["Type"] == "Choice":
            matching = [c["Next"] for c in state["Choices"] if _choice_rule_matches(c, data)]
            name = matching[0] if matching else state["Default"]
        else:
            raise AssertionError(f"state type not understood by this test interpreter: {state['Type']}")
    raise AssertionError("the state machine did not finish within 100 states")


# --------------------------------------------------------------------------- whole template


def test_sam_validate_lint_passes(repo_root: Path) -> None:
    candidates = [Path(sys.executable).with_name("sam"), repo_root / ".venv" / "bin" / "sam"]
    sam = next((str(c) for c in candidates if c.exists()), None) or shutil.which("sam")
    if sam is None:
        pytest.skip("the sam CLI (aws-sam-cli) is not installed")
    env = {
        **os.environ,
        "PATH": f"{Path(sam).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }
    result = subprocess.run(
        [sam, "validate", "--lint"], cwd=repo_root, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_outputs_name_every_resource_an_operator_needs(cfn_template: Template) -> None:
    expected = {
        "SnapshotBucketName": ref("SnapshotBucket"),
        "ProvisionQueueUrl": ref("ProvisionQueue"),
        "ProvisionDeadLetterQueueUrl": ref("ProvisionDeadLetterQueue"),
        "ExpiryScheduleGroupName": ref("ExpirySchedules"),
        "GuruSecretArn": ref("GuruSecret"),
        "GustoSecretArn": ref("GustoSecret"),
        "GuruSyncStateMachineArn": ref("GuruSyncStateMachine"),
        "GustoSyncStateMachineArn": ref("GustoSyncStateMachine"),
        "IdempotencyTableName": ref("IdempotencyTable"),
        "GlueDatabaseName": ref("GlueDatabase"),
        "AthenaWorkGroupName": ref("AthenaWorkGroup"),
    }
    outputs = cfn_template["Outputs"]
    assert {name: outputs.get(name, {}).get("Value") for name in expected} == expected


# --------------------------------------------------------------------------- functions and layer


def test_every_functions_folder_is_deployed_with_handler_app_handler(cfn_template: Template, repo_root: Path) -> None:
    deployed = {
        props(cfn_template, fn)["Code"]["S3Key"]: props(cfn_template, fn)["Handler"]
        for fn in resources_of_type(cfn_template, "AWS::Lambda::Function")
    }
    folders = sorted(p for p in (repo_root / "functions").iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    assert folders, "functions/ has no function folders"
    for folder in folders:
        key = f"functions/{folder.name}"
        assert deployed.get(key) == "app.handler", f"{key}/ is not deployed with Handler app.handler"


def test_every_function_code_folder_exists(cfn_template: Template, repo_root: Path) -> None:
    for fn in resources_of_type(cfn_template, "AWS::Lambda::Function"):
        assert (repo_root / props(cfn_template, fn)["Code"]["S3Key"]).is_dir(), fn


def test_functions_run_python_3_12_on_the_layer(cfn_template: Template) -> None:
    (layer,) = resources_of_type(cfn_template, "AWS::Lambda::LayerVersion")
    for fn in ALL_FUNCTIONS:
        assert props(cfn_template, fn)["Runtime"] == "python3.12"
        assert props(cfn_template, fn)["Layers"] == [ref(layer)], fn


def test_layer_is_built_by_sam_for_python_3_12_and_the_functions_architecture(
    sam_template: Template, cfn_template: Template
) -> None:
    layer = sam_template["Resources"]["AccessSyncLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"].rstrip("/") == "layers/access_sync"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    architecture = layer["Metadata"]["BuildArchitecture"]
    for fn in ALL_FUNCTIONS:
        assert props(cfn_template, fn)["Architectures"] == [architecture], fn


@pytest.mark.parametrize("function", SYNC_FUNCTIONS)
def test_sync_functions_get_15_minutes_1_gb_and_no_reserved_concurrency(cfn_template: Template, function: str) -> None:
    # Reserved concurrency fails to deploy where the account's quota is small; the sync lease keeps one at a time.
    p = props(cfn_template, function)
    assert (p["Timeout"], p["MemorySize"]) == (900, 1024)
    assert "ReservedConcurrentExecutions" not in p


def test_provisioning_function_gets_2_minutes_and_512_mb(cfn_template: Template) -> None:
    p = props(cfn_template, "ProvisioningFunction")
    assert (p["Timeout"], p["MemorySize"]) == (120, 512)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (
            "GuruSyncFunction",
            {
                "POWERTOOLS_SERVICE_NAME": "guru-sync",
                "SNAPSHOT_BUCKET": ref("SnapshotBucket"),
                "GURU_SECRET_ID": ref("GuruSecret"),
                "GURU_BASE_URL": ref("GuruBaseUrl"),
                "IDEMPOTENCY_TABLE": ref("IdempotencyTable"),
                "CHECKPOINT_MAX_AGE_SECONDS": ref("CheckpointMaxAgeSeconds"),
                "EVENT_BUS_NAME": ref("EventBusName"),
                "GLUE_DATABASE": ref("GlueDatabase"),
                "CHANGE_EVENTS_MAX": ref("ChangeEventsMax"),
            },
        ),
        (
            "GustoSyncFunction",
            {
                "POWERTOOLS_SERVICE_NAME": "gusto-sync",
                "SNAPSHOT_BUCKET": ref("SnapshotBucket"),
                "GUSTO_SECRET_ID": ref("GustoSecret"),
                "GUSTO_BASE_URL": ref("GustoBaseUrl"),
                "IDEMPOTENCY_TABLE": ref("IdempotencyTable"),
                "CHECKPOINT_MAX_AGE_SECONDS": ref("CheckpointMaxAgeSeconds"),
                "EVENT_BUS_NAME": ref("EventBusName"),
                "GLUE_DATABASE": ref("GlueDatabase"),
                "CHANGE_EVENTS_MAX": ref("ChangeEventsMax"),
            },
        ),
        (
            "ProvisioningFunction",
            {
                "POWERTOOLS_SERVICE_NAME": "provisioning",
                "SNAPSHOT_BUCKET": ref("SnapshotBucket"),
                "GURU_SECRET_ID": ref("GuruSecret"),
                "GUSTO_SECRET_ID": ref("GustoSecret"),
                "GURU_BASE_URL": ref("GuruBaseUrl"),
                "GUSTO_BASE_URL": ref("GustoBaseUrl"),
                "IDEMPOTENCY_TABLE": ref("IdempotencyTable"),
                "EVENT_BUS_NAME": ref("EventBusName"),
                "EXPIRY_SCHEDULE_GROUP": ref("ExpirySchedules"),
                "EXPIRY_SCHEDULER_ROLE_ARN": get_att("ExpirySchedulerRole", "Arn"),
                "PROVISION_QUEUE_ARN": get_att("ProvisionQueue", "Arn"),
            },
        ),
    ],
    ids=ALL_FUNCTIONS,
)
def test_function_environment_carries_design_section_7(
    cfn_template: Template, function: str, expected: dict[str, Any]
) -> None:
    variables = env_vars(cfn_template, function)
    assert {name: variables.get(name) for name in expected} == expected
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "AccessSync"
    assert variables["POWERTOOLS_LOG_LEVEL"] == ref("LogLevel")
    # Declared (empty = real AWS) so that `sam local invoke --env-vars` can point it at moto.
    assert variables["AWS_ENDPOINT_URL"] == ""


@pytest.mark.parametrize("function", SYNC_FUNCTIONS)
def test_sync_functions_know_when_to_checkpoint(cfn_template: Template, function: str) -> None:
    assert env_vars(cfn_template, function)["SYNC_SAFETY_MARGIN_SECONDS"] == "60"


def test_guru_sync_concurrency_defaults_to_16_requests_in_flight(cfn_template: Template) -> None:
    assert env_vars(cfn_template, "GuruSyncFunction")["GURU_MAX_CONCURRENCY"] == "16"


def test_base_urls_default_to_the_real_services(sam_template: Template) -> None:
    parameters = sam_template["Parameters"]
    assert parameters["GuruBaseUrl"]["Default"] == ""
    assert parameters["GustoBaseUrl"]["Default"] == ""
    assert parameters["EventBusName"]["Default"] == "default"
    assert parameters["CheckpointMaxAgeSeconds"]["Default"] == 86400


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_functions_log_json_to_their_own_log_group_with_retention(cfn_template: Template, function: str) -> None:
    logging_config = props(cfn_template, function)["LoggingConfig"]
    assert logging_config["LogFormat"] == "JSON"
    log_group = logging_config["LogGroup"]["Ref"]
    assert cfn_template["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert props(cfn_template, log_group)["RetentionInDays"] == ref("LogRetentionInDays")


def test_log_retention_defaults_to_30_days(sam_template: Template) -> None:
    assert sam_template["Parameters"]["LogRetentionInDays"]["Default"] == 30


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_functions_trace_with_x_ray(cfn_template: Template, function: str) -> None:
    assert props(cfn_template, function)["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("state_machine", STATE_MACHINES.values())
def test_state_machines_trace_with_x_ray_and_log_every_execution(cfn_template: Template, state_machine: str) -> None:
    p = props(cfn_template, state_machine)
    assert p["TracingConfiguration"] == {"Enabled": True}
    logging = p["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is True
    (destination,) = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert props(cfn_template, log_group)["RetentionInDays"] == ref("LogRetentionInDays")
    role = p["RoleArn"]["Fn::GetAtt"][0]
    assert "logs:CreateLogDelivery" in {permission.action for permission in allowed_permissions(cfn_template, role)}


# --------------------------------------------------------------------------- IAM


def test_guru_sync_may_read_only_the_guru_secret_write_its_own_prefix_and_findings(cfn_template: Template) -> None:
    assert data_permissions(cfn_template, "GuruSyncFunctionRole") == {
        permission("secretsmanager:GetSecretValue", ref("GuruSecret")),
        *snapshot_prefix_permissions("guru"),
        *announcement_permissions(),
        *findings_permissions("gusto"),
        *sync_lease_permissions("guru"),
    }


def test_gusto_sync_may_rotate_the_gusto_secret_write_its_prefix_and_hold_the_refresh_lease(
    cfn_template: Template,
) -> None:
    assert data_permissions(cfn_template, "GustoSyncFunctionRole") == {
        permission("secretsmanager:GetSecretValue", ref("GustoSecret")),
        permission("secretsmanager:PutSecretValue", ref("GustoSecret")),
        *snapshot_prefix_permissions("gusto"),
        *announcement_permissions(),
        *findings_permissions("guru"),
        *sync_lease_permissions("gusto"),
        *(
            permission(action, get_att("IdempotencyTable", "Arn"), lease_items_only())
            for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
        ),
        *(
            permission(action, get_att("IdempotencyTable", "Arn"), rate_items_only())
            for action in ("dynamodb:GetItem", "dynamodb:UpdateItem")
        ),
    }


def test_gusto_sync_may_touch_lease_and_rate_budget_items_but_no_idempotency_record(cfn_template: Template) -> None:
    role = "GustoSyncFunctionRole"
    lease = lease_key("gusto", "gusto-client-id")
    budget = f"{rate_key('gusto', 'gusto-client-id')}#300000000"
    idempotency_record = "access-sync-ProvisioningFunction-AbC.access_sync.provisioning.service.perform#5f1e"
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert may_touch_item(cfn_template, role, action, lease), action
        assert not may_touch_item(cfn_template, role, action, idempotency_record), action
    assert may_touch_item(cfn_template, role, "dynamodb:UpdateItem", budget)
    assert may_touch_item(cfn_template, role, "dynamodb:GetItem", budget)
    assert not may_touch_item(cfn_template, role, "dynamodb:PutItem", budget)
    assert not may_touch_item(cfn_template, role, "dynamodb:DeleteItem", budget)


def test_provisioning_may_keep_idempotency_records_hold_the_lease_and_share_the_rate_budget(
    cfn_template: Template,
) -> None:
    role = "ProvisioningFunctionRole"
    for key in ("access-sync-ProvisioningFunction-AbC#5f1e", lease_key("gusto", "cid")):
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
            assert may_touch_item(cfn_template, role, action, key), (action, key)
    for action in ("dynamodb:GetItem", "dynamodb:UpdateItem"):
        assert may_touch_item(cfn_template, role, action, f"{rate_key('gusto', 'cid')}#300000000"), action


def test_provisioning_may_use_both_secrets_write_results_and_publish_to_its_bus(
    cfn_template: Template,
) -> None:
    results = "provisioning/results/*"
    assert data_permissions(cfn_template, "ProvisioningFunctionRole") == {
        permission("secretsmanager:GetSecretValue", ref("GuruSecret")),
        permission("secretsmanager:GetSecretValue", ref("GustoSecret")),
        permission("secretsmanager:PutSecretValue", ref("GustoSecret")),
        permission("s3:PutObject", sub(f"${{SnapshotBucket.Arn}}/{results}")),
        permission("s3:GetObject", sub(f"${{SnapshotBucket.Arn}}/{results}")),
        permission("s3:ListBucket", get_att("SnapshotBucket", "Arn"), prefix_condition(results)),
        *table_permissions(),
        permission("events:PutEvents", EVENT_BUS),
        *provision_queue_consumer_permissions(),
    }


def provision_queue_consumer_permissions() -> set[Permission]:
    queue = get_att("ProvisionQueue", "Arn")
    return {
        permission(action, queue) for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
    }


def test_provisioning_may_consume_the_provision_queue_and_no_other(cfn_template: Template) -> None:
    # SAM's own role for an SQS event would carry AWSLambdaSQSQueueExecutionRole: every queue in the account.
    sqs = {p for p in allowed_permissions(cfn_template, "ProvisioningFunctionRole") if p.action.startswith("sqs:")}
    assert sqs == provision_queue_consumer_permissions()
    assert props(cfn_template, "ProvisioningFunction")["Role"] == get_att("ProvisioningFunctionRole", "Arn")
    for role in resources_of_type(cfn_template, "AWS::IAM::Role"):
        for arn in props(cfn_template, role).get("ManagedPolicyArns", []):
            assert "AWSLambdaSQSQueueExecutionRole" not in canonical(arn), role


def test_put_secret_value_is_granted_only_on_the_gusto_secret(cfn_template: Template) -> None:
    grants = {
        (role, p.resource)
        for role in resources_of_type(cfn_template, "AWS::IAM::Role")
        for p in allowed_permissions(cfn_template, role)
        if p.action in ("secretsmanager:PutSecretValue", "secretsmanager:*", "*")
    }
    assert grants == {
        ("GustoSyncFunctionRole", canonical(ref("GustoSecret"))),
        ("ProvisioningFunctionRole", canonical(ref("GustoSecret"))),
    }


def test_no_role_grants_data_actions_on_every_resource(cfn_template: Template) -> None:
    for role in resources_of_type(cfn_template, "AWS::IAM::Role"):
        for p in allowed_permissions(cfn_template, role):
            if p.action.startswith(DATA_SERVICES) or p.action == "*":
                assert p.resource != canonical("*"), f"{role} grants {p.action} on *"
                assert not p.action.endswith(":*") and p.action != "*", f"{role} grants {p.action}"


def managed_policy_arn(arn: Any) -> str:
    """A managed policy's ARN, with the partition of the `!Sub arn:${AWS::Partition}:...` form filled in."""
    text = arn["Fn::Sub"] if isinstance(arn, dict) else arn
    return str(text).replace("${AWS::Partition}", "aws")


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_functions_get_no_managed_policy_but_basic_execution_and_x_ray_writes(
    cfn_template: Template, function: str
) -> None:
    actual = props(cfn_template, f"{function}Role").get("ManagedPolicyArns", [])
    assert sorted(managed_policy_arn(arn) for arn in actual) == [
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ]


# --------------------------------------------------------------------------- Athena


def glue_table(template: Template, name: str) -> dict[str, Any]:
    (table,) = [
        p["TableInput"]
        for p in (r["Properties"] for r in resources_of_type(template, "AWS::Glue::Table").values())
        if p["TableInput"]["Name"] == name
    ]
    return table


def test_the_glue_database_is_named_by_a_parameter_defaulting_to_access_sync(
    cfn_template: Template, sam_template: Template
) -> None:
    (database,) = resources_of_type(cfn_template, "AWS::Glue::Database").values()
    assert database["Properties"]["DatabaseInput"]["Name"] == ref("GlueDatabaseName")
    assert sam_template["Parameters"]["GlueDatabaseName"]["Default"] == "access_sync"


@pytest.mark.parametrize("name", SNAPSHOT_TABLES)
def test_each_record_kind_is_a_json_table_partitioned_by_connector_sync_date_and_sync_id(
    cfn_template: Template, name: str
) -> None:
    table = glue_table(cfn_template, name)
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [
        ("connector", "string"),
        ("sync_date", "string"),
        ("sync_id", "string"),
    ]
    storage = table["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert storage["Location"] == sub("s3://${SnapshotBucket}/snapshots/")


def test_glue_tables_and_views_belong_to_the_stacks_database(cfn_template: Template) -> None:
    for logical_id, table in resources_of_type(cfn_template, "AWS::Glue::Table").items():
        assert table["Properties"]["DatabaseName"] == ref("GlueDatabase"), logical_id


def test_findings_are_a_json_table_partitioned_by_run_date_and_run_id_under_findings(cfn_template: Template) -> None:
    table = glue_table(cfn_template, "findings")
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [("run_date", "string"), ("run_id", "string")]
    storage = table["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert storage["Location"] == sub("s3://${SnapshotBucket}/findings/")


@pytest.mark.parametrize("role", ["GuruSyncFunctionRole", "GustoSyncFunctionRole"])
def test_each_sync_may_register_a_findings_runs_partition_in_the_findings_table(
    cfn_template: Template, role: str
) -> None:
    allowed = allowed_permissions(cfn_template, role)
    for action in ("glue:GetTable", "glue:BatchCreatePartition"):
        for resource in ("catalog", "database/${GlueDatabase}", "table/${GlueDatabase}/findings"):
            assert permission(action, glue_arn(resource)) in allowed, (action, resource)


def test_views_are_athena_views_for_every_latest_kind_and_the_access_review(cfn_template: Template) -> None:
    views = {
        p["TableInput"]["Name"]: p["TableInput"]
        for p in (r["Properties"] for r in resources_of_type(cfn_template, "AWS::Glue::Table").values())
        if p["TableInput"]["TableType"] == "VIRTUAL_VIEW"
    }
    assert set(views) == {f"latest_{kind}" for kind in ("syncs", *SNAPSHOT_TABLES, "findings")} | {"access_review"}
    for name, view in views.items():
        assert view["Parameters"] == {"presto_view": "true", "comment": "Presto View"}, name
        assert view["ViewExpandedText"] == "/* Presto View */", name


def test_athena_workgroup_writes_results_under_athena_results_of_the_bucket(cfn_template: Template) -> None:
    (workgroup,) = resources_of_type(cfn_template, "AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    assert configuration["ResultConfiguration"]["OutputLocation"] == sub("s3://${SnapshotBucket}/athena-results/")
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}


def test_saved_queries_answer_the_four_reviewer_questions_in_the_workgroup(cfn_template: Template) -> None:
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in resources_of_type(cfn_template, "AWS::Athena::NamedQuery").values()
    }
    assert set(queries) == {
        "Disabled accounts that still hold access",
        "Gusto admins, who they are and their status",
        "What changed in the last sync",
        "Leavers who still have access",
    }
    for query in queries.values():
        assert (query["Database"], query["WorkGroup"]) == (ref("GlueDatabase"), ref("AthenaWorkGroup"))


def test_no_sync_function_may_change_the_catalog_beyond_adding_partitions(cfn_template: Template) -> None:
    for role in ("GuruSyncFunctionRole", "GustoSyncFunctionRole"):
        glue = {p.action for p in allowed_permissions(cfn_template, role) if p.action.startswith("glue:")}
        assert glue == {"glue:GetTable", "glue:BatchCreatePartition"}, role
    assert not any(p.action.startswith("glue:") for p in allowed_permissions(cfn_template, "ProvisioningFunctionRole"))


@pytest.mark.parametrize("connector", ["guru", "gusto"])
def test_a_sync_may_hold_only_its_own_connectors_sync_lease(cfn_template: Template, connector: str) -> None:
    role = f"{SYNC_FUNCTION_OF[connector]}Role"
    other = "gusto" if connector == "guru" else "guru"
    for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert may_touch_item(cfn_template, role, action, sync_lease_key(connector)), action
        assert not may_touch_item(cfn_template, role, action, sync_lease_key(other)), action


# --------------------------------------------------------------------------- snapshot bucket


def test_snapshot_bucket_blocks_all_public_access(cfn_template: Template) -> None:
    assert props(cfn_template, "SnapshotBucket")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_snapshot_bucket_encrypts_objects_at_rest(cfn_template: Template) -> None:
    (rule,) = props(cfn_template, "SnapshotBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    algorithm = rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
    assert algorithm == "AES256" or (algorithm == "aws:kms" and rule.get("BucketKeyEnabled") is True)


def test_snapshot_bucket_is_versioned(cfn_template: Template) -> None:
    assert props(cfn_template, "SnapshotBucket")["VersioningConfiguration"] == {"Status": "Enabled"}


def test_snapshot_bucket_disables_acls(cfn_template: Template) -> None:
    rules = props(cfn_template, "SnapshotBucket")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_snapshot_bucket_expires_noncurrent_versions_after_the_configured_days(
    cfn_template: Template, sam_template: Template
) -> None:
    bucket_wide = [
        r["NoncurrentVersionExpiration"]
        for r in lifecycle_rules(cfn_template)
        if r["Status"] == "Enabled" and "NoncurrentVersionExpiration" in r and "Prefix" not in r
    ]
    assert bucket_wide == [{"NoncurrentDays": ref("SnapshotNoncurrentVersionDays")}]
    assert sam_template["Parameters"]["SnapshotNoncurrentVersionDays"]["Type"] == "Number"


def test_snapshot_bucket_aborts_incomplete_multipart_uploads_after_one_day(cfn_template: Template) -> None:
    rules = lifecycle_rules(cfn_template)
    aborts = [r for r in rules if "AbortIncompleteMultipartUpload" in r]
    assert [r["AbortIncompleteMultipartUpload"] for r in aborts] == [{"DaysAfterInitiation": 1}]
    assert all(r["Status"] == "Enabled" for r in rules)
    (abort,) = aborts  # for every upload in the bucket
    assert "Prefix" not in abort and "Filter" not in abort and "TagFilters" not in abort


SYNC_ID = "20261201T081425123Z-9b54ddbd"


@pytest.mark.parametrize("connector", SYNC_FUNCTION_OF)
def test_snapshot_bucket_expires_the_checkpoints_of_unfinished_syncs_after_the_checkpoint_age(
    cfn_template: Template, sam_template: Template, connector: str
) -> None:
    rules = expiring_rules_for(cfn_template, checkpoint_key(connector, SYNC_ID))
    assert len(rules) == 1, rules
    (rule,) = rules
    # Only once no sync can resume from them any more: CheckpointMaxAgeSeconds is bounded below that.
    age = sam_template["Parameters"]["CheckpointMaxAgeSeconds"]
    assert 2 <= rule["ExpirationInDays"] <= 7
    assert rule["ExpirationInDays"] * 86400 > age["MaxValue"] >= age["Default"]
    # A checkpoint is rewritten on every invocation: its old versions need not wait for the bucket-wide rule.
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


@pytest.mark.parametrize("connector", SYNC_FUNCTION_OF)
def test_snapshot_bucket_expires_the_segments_the_writer_leaves_behind(cfn_template: Template, connector: str) -> None:
    segment = segment_key(segments_prefix(connector, SYNC_ID), "grants", 0)
    assert expiring_rules_for(cfn_template, segment)


@pytest.mark.parametrize("connector", SYNC_FUNCTION_OF)
def test_snapshot_bucket_never_expires_a_snapshot_or_latest_json(cfn_template: Template, connector: str) -> None:
    folder = snapshot_folder(connector, SYNC_ID)
    for key in (latest_key(connector), f"{folder}/manifest.json", f"{folder}/grants/part-00000.jsonl.gz"):
        assert expiring_rules_for(cfn_template, key) == [], key


@pytest.mark.parametrize("connector", ["guru", "gusto"])
def test_snapshot_retention_when_set_expires_snapshots_after_the_configured_days(
    cfn_template: Template, sam_template: Template, connector: str
) -> None:
    assert sam_template["Parameters"]["SnapshotRetentionDays"]["Default"] == 0  # keep
    assert cfn_template["Conditions"]["HasSnapshotRetention"] == {
        "Fn::Not": [{"Fn::Equals": [ref("SnapshotRetentionDays"), 0]}]
    }
    manifest = f"{snapshot_folder(connector, SYNC_ID)}/manifest.json"
    (rule,) = expiring_rules_for(cfn_template, manifest, {"HasSnapshotRetention"})
    assert rule["ExpirationInDays"] == ref("SnapshotRetentionDays")


def test_snapshot_bucket_survives_stack_deletion_and_replacement(cfn_template: Template) -> None:
    bucket = cfn_template["Resources"]["SnapshotBucket"]
    assert (bucket.get("DeletionPolicy"), bucket.get("UpdateReplacePolicy")) == ("Retain", "Retain")


def test_snapshot_bucket_policy_denies_requests_without_tls(cfn_template: Template) -> None:
    (policy,) = resources_of_type(cfn_template, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == ref("SnapshotBucket")
    denials = [
        s
        for s in listify(policy["Properties"]["PolicyDocument"]["Statement"])
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denials) == 1
    (deny,) = denials
    assert deny["Principal"] in ("*", {"AWS": "*"})
    assert listify(deny["Action"]) == ["s3:*"]
    assert sorted(map(canonical, listify(deny["Resource"]))) == sorted(
        [canonical(get_att("SnapshotBucket", "Arn")), canonical(sub("${SnapshotBucket.Arn}/*"))]
    )


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("secret", "fields"),
    [
        ("GuruSecret", {"user_email", "api_token"}),
        (
            "GustoSecret",
            {"client_id", "client_secret", "refresh_token", "access_token", "access_token_expires_at", "environment"},
        ),
    ],
)
def test_secrets_start_as_empty_placeholders_in_the_design_section_6_shape(
    cfn_template: Template, secret: str, fields: set[str]
) -> None:
    placeholder = json.loads(props(cfn_template, secret)["SecretString"])
    assert set(placeholder) == fields
    assert set(placeholder.values()) == {""}


@pytest.mark.parametrize("secret", ["GuruSecret", "GustoSecret"])
def test_secret_descriptions_say_how_to_fill_them(cfn_template: Template, secret: str) -> None:
    description = props(cfn_template, secret)["Description"]
    text = description["Fn::Sub"] if isinstance(description, dict) else description
    assert "aws secretsmanager put-secret-value" in text


# --------------------------------------------------------------------------- idempotency table


def test_idempotency_table_is_keyed_on_id(cfn_template: Template) -> None:
    p = props(cfn_template, "IdempotencyTable")
    assert p["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert p["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]


def test_idempotency_records_expire_through_ttl_on_expiration(cfn_template: Template) -> None:
    ttl = props(cfn_template, "IdempotencyTable")["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiration", "Enabled": True}


def test_idempotency_table_is_on_demand_with_point_in_time_recovery_and_encryption(
    cfn_template: Template,
) -> None:
    p = props(cfn_template, "IdempotencyTable")
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"]["SSEEnabled"] is True


# --------------------------------------------------------------------------- provisioning queue


def test_queue_visibility_timeout_is_at_least_six_times_the_function_timeout(cfn_template: Template) -> None:
    timeout = props(cfn_template, "ProvisioningFunction")["Timeout"]
    assert props(cfn_template, "ProvisionQueue")["VisibilityTimeout"] >= 6 * timeout


def test_queue_moves_a_request_to_the_dlq_after_five_receives(cfn_template: Template) -> None:
    assert props(cfn_template, "ProvisionQueue")["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att("ProvisionDeadLetterQueue", "Arn"),
        "maxReceiveCount": 5,
    }


def test_the_provision_queue_is_a_standard_queue_so_a_batchs_items_need_no_order(cfn_template: Template) -> None:
    # The function carries out a batch's items at once; a FIFO queue would need them in order per message group.
    for queue in ("ProvisionQueue", "ProvisionDeadLetterQueue"):
        assert not props(cfn_template, queue).get("FifoQueue"), queue


def test_dead_letter_queue_keeps_messages_14_days(cfn_template: Template) -> None:
    assert props(cfn_template, "ProvisionDeadLetterQueue")["MessageRetentionPeriod"] == 14 * 24 * 3600


@pytest.mark.parametrize("queue", ["ProvisionQueue", "ProvisionDeadLetterQueue"])
def test_queues_are_encrypted(cfn_template: Template, queue: str) -> None:
    assert props(cfn_template, queue).get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props(
        cfn_template, queue
    )


def test_only_the_stacks_sync_functions_may_send_provisioning_requests_by_default(
    cfn_template: Template, sam_template: Template
) -> None:
    parameter = sam_template["Parameters"]["ProvisioningSenderRoleArns"]
    assert (parameter["Type"], parameter["Default"]) == ("CommaDelimitedList", "")
    for sender in SYNC_FUNCTIONS:  # remediation requests for leavers
        assert may_send_to_provision_queue(cfn_template, role_arn(f"{sender}Role")), sender
    assert may_send_to_provision_queue(cfn_template, role_arn("ExpirySchedulerRole"))  # ends of time-bound grants
    assert not may_send_to_provision_queue(cfn_template, role_arn("ProvisioningFunctionRole"))
    assert not may_send_to_provision_queue(cfn_template, f"arn:aws:iam::{ACCOUNT}:role/Admin")
    assert not may_send_to_provision_queue(cfn_template, f"arn:aws:iam::{ACCOUNT}:user/alice")
    assert not may_send_to_provision_queue(cfn_template, None)


def test_operator_roles_listed_in_the_parameter_may_send_provisioning_requests(cfn_template: Template) -> None:
    senders = f"arn:aws:iam::{ACCOUNT}:role/ops,arn:aws:iam::{ACCOUNT}:role/access-admins-*"
    assert may_send_to_provision_queue(cfn_template, f"arn:aws:iam::{ACCOUNT}:role/ops", senders)
    assert may_send_to_provision_queue(cfn_template, f"arn:aws:iam::{ACCOUNT}:role/access-admins-eu", senders)
    assert not may_send_to_provision_queue(cfn_template, f"arn:aws:iam::{ACCOUNT}:role/ops-readonly", senders)
    assert not may_send_to_provision_queue(cfn_template, None, senders)
    for sender in (*SYNC_FUNCTIONS, "ExpiryScheduler"):
        assert may_send_to_provision_queue(cfn_template, role_arn(f"{sender}Role"), senders), sender


def test_provision_queue_policy_only_restricts(cfn_template: Template) -> None:
    (policy,) = resources_of_type(cfn_template, "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [ref("ProvisionQueue")]
    statements = listify(policy["Properties"]["PolicyDocument"]["Statement"])
    assert [s["Effect"] for s in statements] == ["Deny"]  # it opens the queue to nobody


# --------------------------------------------------------------------------- ends of time-bound grants


def expiry_schedules_arn() -> dict[str, Any]:
    return sub("arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ExpirySchedules}/*")


def test_the_stack_creates_the_schedule_group_for_the_ends_of_time_bound_grants(cfn_template: Template) -> None:
    (group,) = resources_of_type(cfn_template, "AWS::Scheduler::ScheduleGroup")
    assert group == "ExpirySchedules"
    assert cfn_template["Resources"][group]["DeletionPolicy"] == "Delete"


def test_only_eventbridge_scheduler_of_this_account_may_assume_the_expiry_scheduler_role(
    cfn_template: Template,
) -> None:
    (statement,) = props(cfn_template, "ExpirySchedulerRole")["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}


def test_the_expiry_scheduler_role_may_send_to_the_provision_queue_and_do_nothing_else(
    cfn_template: Template,
) -> None:
    assert allowed_permissions(cfn_template, "ExpirySchedulerRole") == {
        permission("sqs:SendMessage", get_att("ProvisionQueue", "Arn"))
    }
    assert not props(cfn_template, "ExpirySchedulerRole").get("ManagedPolicyArns")


def test_provisioning_may_create_update_delete_and_read_schedules_in_the_expiry_group_only(
    cfn_template: Template,
) -> None:
    scheduler = {
        p for p in allowed_permissions(cfn_template, "ProvisioningFunctionRole") if p.action.startswith("scheduler:")
    }
    assert scheduler == {
        permission(f"scheduler:{action}", expiry_schedules_arn())
        for action in ("CreateSchedule", "UpdateSchedule", "DeleteSchedule", "GetSchedule")
    }


def test_provisioning_may_pass_only_the_expiry_scheduler_role_and_only_to_eventbridge_scheduler(
    cfn_template: Template,
) -> None:
    passing = {p for p in allowed_permissions(cfn_template, "ProvisioningFunctionRole") if p.action.startswith("iam:")}
    assert passing == {
        permission(
            "iam:PassRole",
            get_att("ExpirySchedulerRole", "Arn"),
            {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        )
    }
    for role in resources_of_type(cfn_template, "AWS::IAM::Role"):
        if role != "ProvisioningFunctionRole":
            assert not any(p.action.startswith("iam:") for p in allowed_permissions(cfn_template, role)), role


def test_provisioning_function_consumes_the_queue_with_partial_batch_responses(cfn_template: Template) -> None:
    (mapping,) = resources_of_type(cfn_template, "AWS::Lambda::EventSourceMapping").values()
    p = mapping["Properties"]
    assert p["EventSourceArn"] == get_att("ProvisionQueue", "Arn")
    assert p["FunctionName"] == ref("ProvisioningFunction")
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (p["BatchSize"], p["MaximumBatchingWindowInSeconds"]) == (10, 5)
    assert p["ScalingConfig"] == {"MaximumConcurrency": 2}


# --------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("connector", ["guru", "gusto"])
def test_schedule_starts_the_connectors_state_machine_at_the_configured_rate(
    cfn_template: Template, sam_template: Template, connector: str
) -> None:
    state_machine = STATE_MACHINES[connector]
    parameter = f"{connector.capitalize()}SyncSchedule"
    schedules = [
        s["Properties"]
        for s in resources_of_type(cfn_template, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["Target"]["Arn"] == ref(state_machine)
    ]
    assert len(schedules) == 1
    assert schedules[0]["ScheduleExpression"] == ref(parameter)
    assert sam_template["Parameters"][parameter]["Default"] == "rate(6 hours)"


@pytest.mark.parametrize("connector", ["guru", "gusto"])
def test_schedule_input_names_the_connector_and_the_scheduler_run(cfn_template: Template, connector: str) -> None:
    (schedule,) = [
        s["Properties"]
        for s in resources_of_type(cfn_template, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["Target"]["Arn"] == ref(STATE_MACHINES[connector])
    ]
    assert json.loads(schedule["Target"]["Input"]) == {
        "connector": connector,
        "trigger": "schedule",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "execution_id": "<aws.scheduler.execution-id>",
    }


def test_schedules_follow_the_schedule_state_parameter(cfn_template: Template, sam_template: Template) -> None:
    parameter = sam_template["Parameters"]["ScheduleState"]
    assert parameter["Default"] == "ENABLED" and parameter["AllowedValues"] == ["ENABLED", "DISABLED"]
    schedules = resources_of_type(cfn_template, "AWS::Scheduler::Schedule")
    assert len(schedules) == 2
    for logical_id, schedule in schedules.items():
        assert schedule["Properties"]["State"] == ref("ScheduleState"), logical_id


def test_schedules_leave_naming_to_cloudformation(cfn_template: Template) -> None:
    # A fixed schedule name collides when two stacks are deployed in one account (OmitName: true).
    for schedule in resources_of_type(cfn_template, "AWS::Scheduler::Schedule").values():
        assert "Name" not in schedule["Properties"]


def test_schedule_roles_may_only_start_their_own_state_machine(cfn_template: Template) -> None:
    for schedule in resources_of_type(cfn_template, "AWS::Scheduler::Schedule").values():
        target = schedule["Properties"]["Target"]
        role = target["RoleArn"]["Fn::GetAtt"][0]
        assert allowed_permissions(cfn_template, role) == {permission("states:StartExecution", target["Arn"])}


@pytest.mark.parametrize("parameter", ["GuruSyncSchedule", "GustoSyncSchedule"])
def test_default_schedule_expressions_are_valid_scheduler_syntax(sam_template: Template, parameter: str) -> None:
    expression = sam_template["Parameters"][parameter]["Default"]
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    cron = re.fullmatch(r"cron\((\S+ ){5}\S+\)", expression)  # Scheduler crons have six fields
    assert rate or cron, expression


# --------------------------------------------------------------------------- state machines


@pytest.mark.parametrize("connector", ["guru", "gusto"])
def test_state_machine_invokes_only_its_own_sync_function(cfn_template: Template, connector: str) -> None:
    state_machine, function = STATE_MACHINES[connector], SYNC_FUNCTION_OF[connector]
    p = props(cfn_template, state_machine)
    assert p["DefinitionSubstitutions"] == {"SyncFunctionArn": get_att(function, "Arn")}
    task = state_machine_definition(cfn_template, state_machine)["States"]["RunSync"]
    assert task["Parameters"]["FunctionName"] == "${SyncFunctionArn}"
    (grant,) = [p for p in allowed_permissions(cfn_template, f"{state_machine}Role") if p.action.startswith("lambda:")]
    assert grant.action == "lambda:InvokeFunction"
    assert json.loads(grant.resource)["Fn::Sub"][1] == {"functionName": ref(function)}


@pytest.mark.parametrize("state_machine", STATE_MACHINES.values())
def test_state_machine_is_standard_so_it_can_outlive_15_minutes(cfn_template: Template, state_machine: str) -> None:
    assert props(cfn_template, state_machine)["StateMachineType"] == "STANDARD"


@pytest.mark.parametrize("state_machine", STATE_MACHINES.values())
def test_state_machine_retries_transient_lambda_errors_with_backoff(cfn_template: Template, state_machine: str) -> None:
    definition = state_machine_definition(cfn_template, state_machine)
    task = definition["States"][definition["StartAt"]]
    retried = {
        error
        for retrier in task["Retry"]
        if retrier.get("MaxAttempts", 3) >= 2 and retrier.get("BackoffRate", 2) > 1
        for error in retrier["ErrorEquals"]
    }
    assert retried >= LAMBDA_TRANSIENT_ERRORS


@pytest.mark.parametrize("state_machine", STATE_MACHINES.values())
def test_state_machine_time_limit_ends_an_endless_loop_before_the_next_scheduled_run(
    cfn_template: Template, state_machine: str
) -> None:
    timeout = state_machine_definition(cfn_template, state_machine)["TimeoutSeconds"]
    assert 3600 <= timeout < 6 * 3600  # the default schedule is rate(6 hours)


@pytest.mark.parametrize("state_machine", STATE_MACHINES.values())
def test_state_machine_loops_on_in_progress_feeding_each_result_back(
    cfn_template: Template, state_machine: str
) -> None:
    definition = state_machine_definition(cfn_template, state_machine)
    start = {"connector": "guru", "trigger": "schedule", "scheduled_time": "t", "execution_id": "e"}
    first = {"status": "in_progress", "connector": "guru", "sync_id": "s1", "checkpoint": "c1"}
    second = {"status": "in_progress", "connector": "guru", "sync_id": "s1", "checkpoint": "c2"}
    done = {"status": "complete", "connector": "guru", "sync_id": "s1"}
    execution = run_state_machine(definition, start, [first, second, done])
    assert execution.outcome == "Succeed"
    assert execution.payloads == [start, first, second]


@pytest.mark.parametrize("state_machine", STATE_MACHINES.values())
def test_state_machine_succeeds_when_the_sync_was_skipped_for_another_sync(
    cfn_template: Template, state_machine: str
) -> None:
    definition = state_machine_definition(cfn_template, state_machine)
    skipped = {"status": "skipped", "connector": "guru", "sync_id": None, "reason": "another guru sync holds it"}
    execution = run_state_machine(definition, {"connector": "guru"}, [skipped])
    assert execution.outcome == "Succeed"
    assert len(execution.payloads) == 1


@pytest.mark.parametrize("state_machine", STATE_MACHINES.values())
@pytest.mark.parametrize(
    "answer",
    [
        {"status": "failed", "connector": "guru"},
        {"connector": "guru"},
        RuntimeError("the handler raised"),
    ],
    ids=["unknown-status", "no-status", "handler-error"],
)
def test_state_machine_fails_on_anything_but_in_progress_or_complete(
    cfn_template: Template, state_machine: str, answer: dict[str, Any] | Exception
) -> None:
    definition = state_machine_definition(cfn_template, state_machine)
    execution = run_state_machine(definition, {"connector": "guru"}, [answer])
    assert execution.outcome == "Fail"
    assert len(execution.payloads) == 1


@pytest.mark.parametrize("state_machine", STATE_MACHINES.values())
def test_state_machine_definition_is_valid_amazon_states_language(cfn_template: Template, state_machine: str) -> None:
    definition = state_machine_definition(cfn_template, state_machine)
    for name, state in definition["States"].items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
        for target in filter(None, targets):
            assert target in definition["States"], f"{name} goes to unknown state {target}"
    probe = {
        "Resources": {
            "Probe": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/probe", "Definition": definition},
            }
        }
    }
    matches = cfnlint.api.lint(json.dumps(probe), config=cfnlint.api.ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


# --------------------------------------------------------------------------- alarms


ALARMS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "dlq-depth": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": get_att("ProvisionDeadLetterQueue", "QueueName")},
    ),
    "provisioning-failed": ("AccessSync", "ProvisioningFailed", {"service": "provisioning"}),
    "gusto-reauthorization": ("AccessSync", "GustoReauthorizationRequired", {"service": "gusto-sync"}),
    "guru-sync-failed": ("AccessSync", "SyncFailed", {"service": "guru-sync"}),
    "gusto-sync-failed": ("AccessSync", "SyncFailed", {"service": "gusto-sync"}),
    "guru-state-machine-failed": ("AWS/States", "ExecutionsFailed", {"StateMachineArn": ref("GuruSyncStateMachine")}),
    "gusto-state-machine-failed": ("AWS/States", "ExecutionsFailed", {"StateMachineArn": ref("GustoSyncStateMachine")}),
}


@pytest.mark.parametrize("alarm_name", ALARMS)
def test_alarm_fires_on_the_first_occurrence(cfn_template: Template, alarm_name: str) -> None:
    namespace, metric, dimensions = ALARMS[alarm_name]
    found = alarms_for(cfn_template, namespace, metric, dimensions)
    assert len(found) == 1, f"expected one alarm on {namespace}/{metric} {dimensions}, found {found}"
    alarm = props(cfn_template, found[0])
    statistic = "Maximum" if namespace == "AWS/SQS" else "Sum"
    assert alarm["Statistic"] == statistic
    assert alarm["Period"] <= 300 and alarm["EvaluationPeriods"] == 1
    assert breaches(alarm, 1) and not breaches(alarm, 0)


FRESHNESS_ALARMS = {"guru": "GuruSnapshotStaleAlarm", "gusto": "GustoSnapshotStaleAlarm"}


def test_alarms_notify_the_alarm_topic_and_only_freshness_counts_missing_data(cfn_template: Template) -> None:
    alarms = resources_of_type(cfn_template, "AWS::CloudWatch::Alarm")
    assert alarms
    for logical_id, resource in alarms.items():
        expected = "breaching" if logical_id in FRESHNESS_ALARMS.values() else "notBreaching"
        assert resource["Properties"]["TreatMissingData"] == expected, logical_id
        assert resource["Properties"]["AlarmActions"] == [ref("AlarmTopic")], logical_id


@pytest.mark.parametrize("connector", ["guru", "gusto"])
def test_freshness_alarm_fires_when_no_snapshot_completed_for_the_configured_hours(
    cfn_template: Template, sam_template: Template, connector: str
) -> None:
    hours = f"{connector.capitalize()}FreshnessHours"
    alarm = props(cfn_template, FRESHNESS_ALARMS[connector])
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AccessSync", "SyncSucceeded")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": f"{connector}-sync"}]
    # Every hour without a success breaches (missing data too); all of the last `hours` hours must breach.
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", 3600)
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == ref(hours)
    assert breaches(alarm, 0) and not breaches(alarm, 1)
    # Twice the default schedule, rate(6 hours).
    assert sam_template["Parameters"][hours]["Default"] == 12
    assert alarm["ActionsEnabled"] == {"Fn::If": ["SchedulesEnabled", True, False]}


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(cfn_template: Template) -> None:
    assert props(cfn_template, "AlarmTopic")["KmsMasterKeyId"] == ref("AlarmTopicKey")
    key = props(cfn_template, "AlarmTopicKey")
    assert key["EnableKeyRotation"] is True
    cloudwatch = [s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert len(cloudwatch) == 1 and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_alarm_email_subscription_exists_only_when_an_address_is_given(
    cfn_template: Template, sam_template: Template
) -> None:
    (subscription,) = resources_of_type(cfn_template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["TopicArn"] == ref("AlarmTopic")
    assert subscription["Properties"]["Endpoint"] == ref("AlarmEmail")
    condition = cfn_template["Conditions"][subscription["Condition"]]
    assert condition == {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]}
    assert sam_template["Parameters"]["AlarmEmail"]["Default"] == ""


# --------------------------------------------------------------------------- samconfig.toml and env.json


def test_samconfig_deploys_with_a_reviewed_changeset_and_lints_on_validate(repo_root: Path) -> None:
    config = tomllib.loads((repo_root / "samconfig.toml").read_text(encoding="utf-8"))
    assert config["version"] == 0.1
    assert config["default"]["global"]["parameters"]["stack_name"] == "access-sync"
    assert config["default"]["build"]["parameters"] == {"cached": True, "parallel": True}
    assert config["default"]["validate"]["parameters"]["lint"] is True
    deploy = config["default"]["deploy"]["parameters"]
    assert (deploy["capabilities"], deploy["confirm_changeset"], deploy["resolve_s3"]) == (
        "CAPABILITY_IAM",
        True,
        True,
    )


def test_samconfig_has_a_prod_environment_with_its_own_stack(repo_root: Path, sam_template: Template) -> None:
    config = tomllib.loads((repo_root / "samconfig.toml").read_text(encoding="utf-8"))
    prod = config["prod"]["deploy"]["parameters"]
    assert prod["stack_name"] == "access-sync-prod"
    assert prod["confirm_changeset"] is True
    overrides = dict(item.split("=", 1) for item in prod["parameter_overrides"].split())
    assert set(overrides) <= set(sam_template["Parameters"])


def test_env_json_overrides_only_variables_the_template_declares(cfn_template: Template, repo_root: Path) -> None:
    # `sam local invoke --env-vars` silently ignores variables that the function does not declare.
    overrides = json.loads((repo_root / "env.json").read_text(encoding="utf-8"))
    assert set(overrides) == set(ALL_FUNCTIONS)
    for function, variables in overrides.items():
        undeclared = set(variables) - set(env_vars(cfn_template, function))
        assert not undeclared, f"{function}: {sorted(undeclared)} are not declared in template.yaml"


def test_env_json_points_the_functions_at_moto_and_the_simulators_on_the_host(repo_root: Path) -> None:
    overrides = json.loads((repo_root / "env.json").read_text(encoding="utf-8"))
    for variables in overrides.values():
        assert variables["AWS_ENDPOINT_URL"] == "http://host.docker.internal:5000"
        if "GURU_BASE_URL" in variables:
            assert variables["GURU_BASE_URL"] == "http://host.docker.internal:8081/api/v1"
        if "GUSTO_BASE_URL" in variables:
            assert variables["GUSTO_BASE_URL"] == "http://host.docker.internal:8082"


# --------------------------------------------------------------------------- findings (docs/findings.md)


def test_leaver_remediation_is_off_by_default_with_a_breaker_of_ten(sam_template: Template) -> None:
    parameters = sam_template["Parameters"]
    assert parameters["LeaverRemediation"]["Default"] == "off"
    assert set(parameters["LeaverRemediation"]["AllowedValues"]) == {"off", "revoke_groups", "remove_account"}
    assert parameters["RemediationMaxPerRun"]["Default"] == 10
    assert parameters["RemediationDryRun"]["Default"] == "false"


@pytest.mark.parametrize("function", SYNC_FUNCTIONS)
def test_sync_functions_carry_the_findings_and_remediation_settings(cfn_template: Template, function: str) -> None:
    variables = env_vars(cfn_template, function)
    assert {name: variables.get(name) for name in FINDINGS_SETTINGS} == FINDINGS_SETTINGS


FINDINGS_SETTINGS = {
    "EVENT_BUS_NAME": ref("EventBusName"),
    "PROVISION_QUEUE_URL": ref("ProvisionQueue"),
    "LEAVER_REMEDIATION": ref("LeaverRemediation"),
    "REMEDIATION_MAX_PER_RUN": ref("RemediationMaxPerRun"),
    "REMEDIATION_DRY_RUN": ref("RemediationDryRun"),
}


@pytest.mark.parametrize(
    "alarm, metric", [("RemediationHaltedAlarm", "RemediationHalted"), ("FindingsFailedAlarm", "FindingsFailed")]
)
def test_findings_alarms_add_up_both_sync_functions_and_notify(cfn_template: Template, alarm: str, metric: str) -> None:
    properties = props(cfn_template, alarm)
    watched = {
        (query["MetricStat"]["Metric"]["MetricName"], query["MetricStat"]["Metric"]["Dimensions"][0]["Value"])
        for query in properties["Metrics"]
        if "MetricStat" in query
    }
    assert watched == {(metric, "guru-sync"), (metric, "gusto-sync")}
    assert properties["Threshold"] == 1 and properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == [ref("AlarmTopic")]
