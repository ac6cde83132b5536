"""Guru: team members, user groups and group memberships over Guru's REST API (Basic auth, Link paging)."""
