"""Fixtures of the review tests: a DEST folder, a test clock, and a campaign of the small organisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from access_sync.review.records import Campaign
from access_sync.review.start import CampaignRequest, start_campaign
from access_sync.stores.blob import LocalBlobStore
from tests.review_support import Clock, correlated_org


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "dest")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def campaign(store: LocalBlobStore, clock: Clock) -> Campaign:
    """Both services of tests/review_support.py synced, and a campaign of every grant."""
    correlated_org(store, clock)
    return start_campaign(store, CampaignRequest(None, "all", "tester"), ["guru", "gusto"], clock())
