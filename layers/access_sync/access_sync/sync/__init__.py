"""Running a connector's sync into a snapshot: deadlines, checkpoints, resumption."""
