"""Writing snapshots: streaming gzip JSON-lines parts, the manifest last, then latest.json."""
