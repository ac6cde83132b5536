"""access-sync: identity-governance connectors for Guru and Gusto."""

__version__ = "0.1.0"
