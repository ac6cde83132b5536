"""pydantic models for everything that crosses a boundary: snapshots, secrets, events, provisioning."""
