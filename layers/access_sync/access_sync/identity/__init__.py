"""Who is who: Gusto's people, by key and by address, and the overrides of `config/identities.json`.

Findings and access reviews both decide with it whom an account belongs to (docs/findings.md).
"""
