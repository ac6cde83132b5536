"""Findings: Gusto says who works here; the snapshots say who has access. Their difference is what to act on.

`identity` correlates accounts with people, `analysis` turns two snapshots into findings, `files` knows
where a run lives and how its lines are written, `runs` writes a run and carries findings over from the
previous one, `remediation` plans (and, behind a circuit breaker, sends) the requests that remove a
leaver's access, and `service` puts a run and its remediation together after a sync. See docs/findings.md.
"""
