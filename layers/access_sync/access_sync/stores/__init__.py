"""Adapters for where data lives: blob stores (folder, S3), secret stores (env, file, Secrets Manager), leases."""
