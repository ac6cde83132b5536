"""A Guru team that throttles hard: the sync slows down (fewer requests in flight) but completes intact."""

from __future__ import annotations

import json
import time
from pathlib import Path

from access_sync.connectors.guru.client import GuruClient
from access_sync.connectors.guru.syncer import GuruSyncer
from access_sync.models.secrets import GuruCredentials
from access_sync.models.sync_events import SyncEvent
from access_sync.stores.blob import LocalBlobStore
from access_sync.sync.engine import run_sync
from access_sync_sim.guru import GuruSimulator
from tests.helpers import read_snapshot

MEMBERS, GROUPS = 900, 30


def sync(sim: GuruSimulator, out: Path) -> tuple[GuruSyncer, float]:
    credentials = GuruCredentials(user_email=sim.ADMIN_EMAIL, api_token=sim.ADMIN_TOKEN)
    client = GuruClient(credentials, "http://guru.test/api/v1", transport=sim.transport(), concurrency=16)
    syncer = GuruSyncer(client, concurrency=16)
    started = time.monotonic()
    result = run_sync(syncer, LocalBlobStore(out), SyncEvent(connector="guru", trigger="test"))
    assert result.status == "complete"
    return syncer, time.monotonic() - started


def content(out: Path) -> dict[str, list[str]]:
    snapshot = read_snapshot(out, "guru")
    return {kind: sorted(json.dumps(r, sort_keys=True) for r in snapshot[kind]) for kind in ("resources", "grants")}


def test_a_429_storm_slows_the_sync_down_without_failing_it(tmp_path: Path) -> None:
    calm, _ = sync(GuruSimulator(members=MEMBERS, groups=GROUPS, latency=0.005), tmp_path / "calm")
    assert calm.client.api.concurrency is not None and calm.client.api.concurrency.throttled == 0

    # 20 requests a second, where 16 in flight at 5 ms would ask for ~3,000.
    stormy_sim = GuruSimulator(
        members=MEMBERS, groups=GROUPS, latency=0.005, rate_limit_per_second=20, send_retry_after=True
    )
    stormy, stormy_seconds = sync(stormy_sim, tmp_path / "stormy")

    limiter = stormy.client.api.concurrency
    assert limiter is not None and limiter.throttled > 0
    assert limiter.limit < limiter.maximum  # it backed off instead of hammering
    assert content(tmp_path / "stormy") == content(tmp_path / "calm")
    # Every retried request was a 429, and nothing was given up on.
    assert stormy_sim.requests == stormy.requests == calm.requests + stormy.client.api.retries
    assert stormy_seconds >= (calm.requests - 20) / 20 * 0.8  # the first 20 fit in the burst
