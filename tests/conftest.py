"""Fixtures every layer of tests shares: fake AWS credentials, a moto account, cleared caches."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

# Powertools and boto3 read these at import or client creation; never let tests touch a real account.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    POWERTOOLS_SERVICE_NAME="access-sync-test",
    POWERTOOLS_METRICS_NAMESPACE="AccessSync",
)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """The CLI sets variables for its own process (e.g. quiet metrics); keep them from leaking across tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    from aws_lambda_powertools.utilities import parameters

    from access_sync.stores.aws_clients import forget_aws_clients

    parameters.clear_caches()
    forget_aws_clients()
    yield
    parameters.clear_caches()
    forget_aws_clients()


@pytest.fixture(autouse=True)
def _cli_logging() -> Iterator[None]:
    """`main()` sets the logger's level and points it at this test's sys.stderr, which pytest then closes:
    put both back (without flushing the closed stream) so later tests see the logger as they expect."""
    from access_sync.observability import logger

    handler = logger.registered_handler
    level = logger.log_level
    stream = handler.stream if isinstance(handler, logging.StreamHandler) else None
    yield
    logger.setLevel(level)
    if isinstance(handler, logging.StreamHandler) and stream is not None:
        handler.stream = stream


@pytest.fixture
def aws() -> Iterator[None]:
    """An empty moto account for the test."""
    from moto import mock_aws

    with mock_aws():
        yield
