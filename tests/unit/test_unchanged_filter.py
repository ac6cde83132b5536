"""Setting unchanged records aside during the sync gives exactly the changes a diff of everything gives."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from collections.abc import Iterator

from access_sync.models.snapshot import RECORD_KINDS
from access_sync.snapshot.changes import diff
from access_sync.snapshot.unchanged import LineSource, UnchangedFilter


def _line(kind: str, number: int, version: int = 0) -> bytes:
    if kind == "resources":
        return json.dumps({"resource_type": "user", "id": f"u{number}", "title": f"t{version}"}).encode()
    return json.dumps({"id": f"{kind}-{number}", "value": version}).encode()


def _sides(seed: int) -> tuple[dict[str, list[bytes]], dict[str, list[bytes]]]:
    """A baseline and a new snapshot with additions, removals, modifications, reordered keys and duplicates."""
    rng = random.Random(seed)
    old: dict[str, list[bytes]] = {}
    new: dict[str, list[bytes]] = {}
    for kind in RECORD_KINDS:
        numbers = range(rng.randint(0, 300))
        old[kind] = [_line(kind, n) for n in numbers]
        changed: list[bytes] = []
        for n in numbers:
            roll = rng.random()
            if roll < 0.05:
                continue  # removed
            if roll < 0.10:
                changed.append(_line(kind, n, version=1))  # modified
            elif roll < 0.12:
                record = json.loads(_line(kind, n))
                changed.append(json.dumps(dict(reversed(record.items()))).encode())  # the same, keys reordered
            elif roll < 0.13:
                changed += [_line(kind, n), _line(kind, n)]  # written twice
            else:
                changed.append(_line(kind, n))
        changed += [_line(kind, 1000 + n) for n in range(rng.randint(0, 10))]  # added
        rng.shuffle(changed)
        new[kind] = changed
    return old, new


def _source(lines: dict[str, list[bytes]]) -> LineSource:
    return lambda kind: iter(lines[kind])


def _changes(before: LineSource, after: LineSource) -> list[bytes]:
    return [change.line for change in diff(before, after)]


def _counts(lines: dict[str, list[bytes]]) -> dict[str, int]:
    return {kind: len(found) for kind, found in lines.items()}


def _filtered(
    old: dict[str, list[bytes]], new: dict[str, list[bytes]], counts: dict[str, int] | None = None
) -> list[bytes]:
    unchanged = UnchangedFilter(_source(old), _counts(old) if counts is None else counts, {})
    try:
        unchanged._builder.join()
        for kind in RECORD_KINDS:
            for line in new[kind]:
                unchanged.observe(kind, line + b"\n")
        candidates = unchanged.candidates(_source(new))
        assert candidates is not None
        return _changes(*candidates)
    finally:
        unchanged.close()


def _observe_the_rest(unchanged: UnchangedFilter, new: dict[str, list[bytes]], seen: dict[str, int]) -> None:
    """Once the baseline is loaded, the sync writes each kind's lines after the first `seen`."""
    unchanged._builder.join()
    for kind in RECORD_KINDS:
        for line in new[kind][seen[kind] :]:
            unchanged.observe(kind, line + b"\n")


def _changes_found(unchanged: UnchangedFilter, new: dict[str, list[bytes]]) -> list[bytes]:
    candidates = unchanged.candidates(_source(new))
    assert candidates is not None
    return _changes(*candidates)


def test_the_changes_equal_those_of_a_diff_of_every_record() -> None:
    for seed in range(25):
        old, new = _sides(seed)
        assert _filtered(old, new) == _changes(_source(old), _source(new)), f"seed {seed}"


def test_a_manifest_that_undercounts_the_baseline_still_gives_the_same_changes() -> None:
    old, new = _sides(7)
    assert _filtered(old, new, counts={}) == _changes(_source(old), _source(new))


def test_lines_written_before_the_baseline_was_loaded_are_looked_up_at_the_end() -> None:
    old, new = _sides(3)
    release = threading.Event()

    def slow_baseline(kind: str) -> Iterator[bytes]:
        release.wait()
        yield from old[kind]

    unchanged = UnchangedFilter(slow_baseline, _counts(old), {})
    try:
        for kind in RECORD_KINDS:
            half = len(new[kind]) // 2
            for line in new[kind][:half]:  # the table is not ready: counted, not looked up
                unchanged.observe(kind, line + b"\n")
        release.set()
        _observe_the_rest(unchanged, new, {kind: len(lines) // 2 for kind, lines in new.items()})
        assert _changes_found(unchanged, new) == _changes(_source(old), _source(new))
    finally:
        unchanged.close()


def test_records_written_by_earlier_invocations_are_looked_up_at_the_end() -> None:
    old, new = _sides(11)
    earlier = {kind: len(lines) // 3 for kind, lines in new.items()}
    unchanged = UnchangedFilter(_source(old), _counts(old), earlier)
    try:
        _observe_the_rest(unchanged, new, earlier)
        assert _changes_found(unchanged, new) == _changes(_source(old), _source(new))
    finally:
        unchanged.close()


def test_an_unreadable_baseline_leaves_the_diff_to_every_record() -> None:
    def broken(kind: str) -> Iterator[bytes]:
        raise OSError("the baseline part is gone")
        yield b""

    unchanged = UnchangedFilter(broken, {}, {})
    try:
        unchanged.observe("grants", b'{"id":"g"}\n')
        assert unchanged.candidates(lambda kind: iter(())) is None
    finally:
        unchanged.close()


def test_with_a_fixed_hash_seed_a_keyed_hash_tells_lines_apart() -> None:
    check = "from access_sync.snapshot import unchanged; print(unchanged._line_hash is unchanged._keyed_blake2b)"
    fixed = subprocess.run([sys.executable, "-c", check], env={"PYTHONHASHSEED": "0"}, capture_output=True, text=True)
    assert fixed.stdout.strip() == "True", fixed.stderr
    default = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert default.stdout.strip() == "False", default.stderr
