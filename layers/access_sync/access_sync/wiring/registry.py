"""The connector registry: one line per SaaS. Each connector describes itself in its own folder.

A connector's modules (its client, syncer, provisioner, and what they import) are loaded the first time its
spec is looked up, not when the registry is imported: a Guru sync or a batch of Guru requests never loads
Gusto's code, and a handler's import stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from access_sync.connectors.spec import ConnectorSpec
from access_sync.errors import ConfigurationError


class _Registry(Mapping[str, ConnectorSpec]):
    """Connector name → its ConnectorSpec, given as `module:attribute` and imported on first lookup."""

    def __init__(self, where: Mapping[str, str]) -> None:
        self._where = dict(where)

    def __getitem__(self, name: str) -> ConnectorSpec:
        module, _, attribute = self._where[name].partition(":")
        spec: ConnectorSpec = getattr(importlib.import_module(module), attribute)
        return spec

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


class _GrantEndRefusals(Mapping[str, str]):
    """Connector name → why its grants cannot carry an end, for the connectors that refuse one; a lookup
    loads only the connector it names."""

    def __getitem__(self, name: str) -> str:
        refused = CONNECTORS[name].grant_end_refused
        if refused is None:
            raise KeyError(name)
        return refused

    def __iter__(self) -> Iterator[str]:
        return (name for name in CONNECTORS if CONNECTORS[name].grant_end_refused)

    def __len__(self) -> int:
        return sum(1 for _ in self)


CONNECTORS: Mapping[str, ConnectorSpec] = _Registry(
    {
        "guru": "access_sync.connectors.guru.connector:GURU",
        "gusto": "access_sync.connectors.gusto.connector:GUSTO",
    }
)

# Connectors whose grants cannot carry an end, with the reason: a time-bound grant for them is rejected.
NO_GRANT_END: Mapping[str, str] = _GrantEndRefusals()


def connector_spec(name: str) -> ConnectorSpec:
    spec = CONNECTORS.get(name)
    if spec is None:
        raise ConfigurationError(f"Unknown connector {name!r}; choose {' or '.join(CONNECTORS)}.")
    return spec
