"""botocore's exceptions become the library's own errors here, in one place, each with one sentence.

Only the AWS error code is ever quoted: AWS messages can echo request parameters (a secret's value, a key).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from access_sync.errors import AccessSyncError, ConfigurationError, TransientError

# Codes that retrying cannot fix: the resource, the role's rights or the request itself is wrong.
_CONFIGURATION_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "InvalidBucketName",
        "NoSuchBucket",
        "ResourceNotFoundException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ValidationException",
        "ExpiredToken",
        "ExpiredTokenException",
        "KMSAccessDeniedException",
    }
)


def aws_code(exc: BaseException) -> str:
    """The AWS error code of a botocore error (or its cause), else the exception's class name."""
    cause = exc.__cause__ or exc
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(cause).__name__)
    return type(cause).__name__


def translate(exc: BaseException, what: str) -> AccessSyncError:
    """`what` says what was being done, e.g. "write s3://bucket/key" or "publish the outcome on EventBridge"."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ConfigurationError(
            f"Cannot {what}: no AWS credentials were found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
        )
    if isinstance(exc, NoRegionError):
        return ConfigurationError(f"Cannot {what}: no AWS region is set; set AWS_REGION or AWS_DEFAULT_REGION.")
    if isinstance(exc, EndpointConnectionError):
        return TransientError(f"Cannot {what}: the AWS endpoint could not be reached; try again later.")
    code = aws_code(exc)
    if code in _CONFIGURATION_CODES:
        return ConfigurationError(f"Cannot {what} ({code}); check the name and this role's permissions.")
    return TransientError(f"AWS failed to {what} ({code}); try again later.")


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """`with aws_errors("read s3://…"):` lets no botocore exception leave the adapter."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, what) from None
