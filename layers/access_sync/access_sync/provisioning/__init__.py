"""Carrying out access requests: parse, perform once, record one outcome (docs/provisioning.md)."""
