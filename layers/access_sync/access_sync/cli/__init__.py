"""The `access-sync` command: local syncs, provisioning, connection checks and the demo."""
