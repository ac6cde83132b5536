"""Gusto's error answers: the API's `{"errors": [...]}` bodies and the OAuth endpoints' RFC 6749 ones."""

from __future__ import annotations

from typing import Any

import httpx

from ..responses import json_response


def errors(status: int, key: str, category: str, message: str, **extra: Any) -> httpx.Response:
    """The API's `{"errors": [...]}` body with one error."""
    return json_response(status, {"errors": [{"error_key": key, "category": category, "message": message, **extra}]})


def not_found() -> httpx.Response:
    return errors(404, "request", "not_found", "The requested resource was not found.")


def oauth_error(status: int, error: str, description: str) -> httpx.Response:
    """The OAuth endpoints' RFC 6749 body."""
    return json_response(status, {"error": error, "error_description": description})
