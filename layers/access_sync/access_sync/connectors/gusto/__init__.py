"""Gusto: one company, its employees, contractors and admins (OAuth with rotating refresh tokens)."""
