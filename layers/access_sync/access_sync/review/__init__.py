"""Access reviews: campaigns from the latest snapshots, decisions carried out, and evidence (docs/reviews.md)."""
