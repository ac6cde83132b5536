"""Wiring: the one package that turns arguments, the environment and secrets into objects.

Handlers and the CLI call it; it calls the logic (sync, provisioning, connectors), which never imports it.
"""
