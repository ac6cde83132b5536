"""Fixtures for the infrastructure tests: the SAM template, raw and transformed offline, once per session.

The transform runs samtranslator in-process with a static managed-policy map, so it needs neither AWS
credentials nor network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

# Local code folders become s3://<bucket>/<folder> so that a transformed function still says which
# folder its code came from (Code.S3Key == "functions/guru_sync").
ARTIFACT_BUCKET = "access-sync-local-artifacts"
_LOCAL_URI_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")

# Only managed policies named in `Policies` need an entry; SAM adds its own by ARN.
MANAGED_POLICY_MAP = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
}


def load_sam_template() -> dict[str, Any]:
    """template.yaml as plain JSON data (intrinsics as {"Ref": ...} / {"Fn::Sub": ...} dicts)."""
    decoded, errors = decode_str(TEMPLATE_PATH.read_text(encoding="utf-8"))
    if errors:
        raise AssertionError(f"template.yaml does not parse: {[str(e) for e in errors]}")
    # Round-trip through JSON: cfn-lint's node subclasses become plain dict / list / str.
    plain: dict[str, Any] = json.loads(json.dumps(decoded))
    return plain


def _with_artifact_placeholders(sam_template: dict[str, Any]) -> dict[str, Any]:
    template = json.loads(json.dumps(sam_template))
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in _LOCAL_URI_PROPERTIES:
            uri = properties.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                properties[key] = f"s3://{ARTIFACT_BUCKET}/{uri.strip('/')}"
    return template


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    """The template as written (SAM resources, Globals, Parameters)."""
    return load_sam_template()


@pytest.fixture(scope="session")
def cfn_template(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The template after the SAM transform: plain CloudFormation, as deployed."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        translator = Translator(managed_policy_map=MANAGED_POLICY_MAP, sam_parser=Parser())
        transformed: dict[str, Any] = translator.translate(
            sam_template=_with_artifact_placeholders(sam_template), parameter_values={}
        )
    return transformed
