"""How the CLI words and shows things: counts in plurals, and the progress line with its waits."""

from __future__ import annotations

import io

import pytest

from access_sync.cli.output import counted
from access_sync.cli.progress import TerminalProgress


@pytest.mark.parametrize(
    ("number", "noun", "text"),
    [(1, "group", "1 group"), (6, "group", "6 groups"), (2, "company", "2 companies"), (1204, "user", "1,204 users")],
)
def test_counts_read_as_a_person_would_write_them(number: int, noun: str, text: str) -> None:
    assert counted(number, noun) == text


def test_progress_shows_a_wait_for_a_rate_limit_until_the_next_count() -> None:
    stream = io.StringIO()
    progress = TerminalProgress("syncing gusto", stream)

    progress.counts({"resources": 120, "entitlements": 1, "grants": 0})
    progress.waiting("waiting 38 s for Gusto's rate limit")
    shown_while_waiting = stream.getvalue().split("\r")[-1]
    progress.counts({"resources": 240, "entitlements": 1, "grants": 3})
    shown_after = stream.getvalue().split("\r")[-1]

    assert shown_while_waiting.startswith(
        "syncing gusto: 120 resources, 1 entitlement, 0 grants (waiting 38 s for Gusto's rate limit)"
    )
    assert (
        shown_after.startswith("syncing gusto: 240 resources, 1 entitlement, 3 grants") and "waiting" not in shown_after
    )


def test_progress_stays_off_when_quiet_or_not_on_a_terminal() -> None:
    assert TerminalProgress.on_stderr("syncing", quiet=True) is None
    assert TerminalProgress.on_stderr("syncing") is None  # pytest's stderr is not a terminal
