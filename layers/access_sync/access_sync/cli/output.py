"""How commands print their results: text for people; for scripts, one JSON document (or JSON lines for one
record per item) or CSV where the result is a table. Nothing but the result goes to stdout in json or csv."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from access_sync.errors import ConfigurationError


def require_output(output: str, command: str, allowed: Sequence[str]) -> None:
    if output not in allowed:
        raise ConfigurationError(f"access-sync {command} prints {' or '.join(allowed)}, not {output}; use -o text.")


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, separators=(",", ":")), flush=True)


def print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """The header (none when empty: rows that continue a table already begun), then the rows."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    sys.stdout.flush()


def plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{noun[:-1]}ies"
    return noun if noun.endswith("s") else f"{noun}s"


def counted(number: int, noun: str) -> str:
    """`1 group`, `6 groups`, `2 companies`, `1,204 users`."""
    return f"{number:,} {noun if number == 1 else plural(noun)}"
