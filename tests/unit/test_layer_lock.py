"""The lock (layers/access_sync/requirements.txt) against pyproject.toml: made from the current dependency list,
every package pinned with hashes, every declared dependency pinned within its range, and the very versions this
environment runs."""

from __future__ import annotations

import re
from importlib.metadata import version

from packaging.requirements import Requirement

from access_sync_dev.layer_lock import DIGEST_PREFIX, LOCK, runtime_dependencies, source_digest


def locked() -> dict[str, tuple[Requirement, list[str]]]:
    """Each pinned package: its requirement line (with its marker) and its hashes."""
    entries: dict[str, tuple[Requirement, list[str]]] = {}
    text = LOCK.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        requirement_text, *hashes = re.split(r"\s+--hash=", line.strip())
        requirement = Requirement(requirement_text.strip())
        entries[requirement.name.lower()] = (requirement, hashes)
    return entries


def test_the_lock_was_made_from_the_current_dependencies_of_pyproject() -> None:
    recorded = next(line for line in LOCK.read_text().splitlines() if line.startswith(DIGEST_PREFIX))
    assert recorded.removeprefix(DIGEST_PREFIX) == source_digest(runtime_dependencies()), (
        "pyproject.toml's dependencies changed since the lock was made: run `make lock`."
    )


def test_every_locked_package_has_one_exact_version_and_its_hashes() -> None:
    entries = locked()
    assert entries
    for name, (requirement, hashes) in entries.items():
        assert [spec.operator for spec in requirement.specifier] == ["=="], name
        assert hashes and all(h.startswith("sha256:") for h in hashes), name


def test_every_declared_dependency_is_locked_within_its_range() -> None:
    entries = locked()
    for declared in map(Requirement, runtime_dependencies()):
        assert declared.name.lower() in entries, f"{declared.name} is not in the lock: run `make lock`."
        pinned = next(iter(entries[declared.name.lower()][0].specifier)).version
        assert declared.specifier.contains(pinned, prereleases=True), (declared, pinned)


def test_this_environment_runs_the_locked_versions() -> None:
    for name, (requirement, _) in locked().items():
        if requirement.marker is None or requirement.marker.evaluate():
            assert version(name) == next(iter(requirement.specifier)).version, (
                f"{name}: run `make venv` (or `make lock` after changing pyproject.toml)."
            )
