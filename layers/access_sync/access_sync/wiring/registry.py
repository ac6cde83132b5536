"""The connector registry: one line per SaaS. Each connector describes itself in its own folder."""

from __future__ import annotations

from access_sync.connectors.guru.connector import GURU
from access_sync.connectors.gusto.connector import GUSTO
from access_sync.connectors.spec import ConnectorSpec
from access_sync.errors import ConfigurationError

CONNECTORS: dict[str, ConnectorSpec] = {
    GURU.name: GURU,
    GUSTO.name: GUSTO,
}

# Connectors whose grants cannot carry an end, with the reason: a time-bound grant for them is rejected.
NO_GRANT_END: dict[str, str] = {
    name: spec.grant_end_refused for name, spec in CONNECTORS.items() if spec.grant_end_refused
}


def connector_spec(name: str) -> ConnectorSpec:
    spec = CONNECTORS.get(name)
    if spec is None:
        raise ConfigurationError(f"Unknown connector {name!r}; choose {' or '.join(CONNECTORS)}.")
    return spec
