"""The open findings of the latest findings run, by the account they are about (the `findings` column).

A findings run lives under `findings/run_date=…/run_id=…/`; `findings/latest.json` names the newest one, and
its records are gzip JSON lines under `<path>/findings/`. With no run, every row's `findings` is empty.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from access_sync.errors import ConfigurationError
from access_sync.models import ids
from access_sync.review.items import FINDINGS_SEPARATOR
from access_sync.review.layout import FINDINGS_LATEST
from access_sync.review.records import FindingsUsed
from access_sync.stores.blob import BlobStore


class _Latest(BaseModel):
    run_id: str
    path: str
    completed_at: str


@dataclass
class OpenFindings:
    run: FindingsUsed | None
    kinds: dict[str, str] = field(default_factory=dict)  # "<connector>:<type>:<id>" → "kind;kind"

    def of(self, connector: str, resource_type: str, resource_id: str) -> str:
        return self.kinds.get(f"{connector}:{ids.resource_key(resource_type, resource_id)}", "")


def _subject_key(record: dict[str, object]) -> str | None:
    subject = record.get("subject")
    if not isinstance(subject, dict):
        return None
    parts = (subject.get("connector"), subject.get("resource_type"), subject.get("id"))
    return ":".join(str(part) for part in parts) if all(isinstance(part, str) for part in parts) else None


def open_findings(store: BlobStore) -> OpenFindings:
    raw = store.get_bytes(FINDINGS_LATEST)
    if raw is None:
        return OpenFindings(None)
    try:
        latest = _Latest.model_validate_json(raw)
    except ValidationError:
        raise ConfigurationError(f"{store.describe(FINDINGS_LATEST)} is not a findings pointer.") from None
    manifest = store.get_bytes(f"{latest.path}/manifest.json")
    run = FindingsUsed(
        run_id=latest.run_id,
        path=latest.path,
        completed_at=latest.completed_at,
        manifest_sha256=hashlib.sha256(manifest).hexdigest() if manifest is not None else None,
    )
    found: dict[str, set[str]] = {}
    prefix = f"{latest.path}/findings/"
    for key in sorted(store.list_keys(prefix)):
        name = key.rsplit("/", 1)[-1]
        if not (name.startswith("part-") and name.endswith(".jsonl.gz")):
            continue
        with store.open_reader(key) as body, gzip.open(body, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line) if line.strip() else {}
                subject = _subject_key(record)
                if subject and record.get("status") == "open" and isinstance(record.get("kind"), str):
                    found.setdefault(subject, set()).add(str(record["kind"]))
    return OpenFindings(run, {key: FINDINGS_SEPARATOR.join(sorted(kinds)) for key, kinds in found.items()})
