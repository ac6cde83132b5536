"""Reading and checking the JSON bodies of provisioning calls; a bad body raises `Reject` with Gusto's answer."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import httpx

from ..responses import Reject, json_response
from .errors import errors


def json_body(request: httpx.Request) -> dict[str, Any]:
    try:
        body = json.loads(request.content or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Reject(errors(400, "request", "invalid_request_error", "The request body must be a JSON object."))
    return body


def require(body: dict[str, Any], fields: Sequence[str]) -> None:
    """422 with one `missing_parameter` error for each of `fields` that is missing or blank."""
    missing = [name for name in fields if not isinstance(body.get(name), str) or not body[name].strip()]
    if missing:
        problems = [
            {"error_key": name, "category": "missing_parameter", "message": f"{name} is required."} for name in missing
        ]
        raise Reject(json_response(422, {"errors": problems}))


def valid_email(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise Reject(errors(422, "email", "invalid_attribute_value", "Email is invalid"))
    return value
