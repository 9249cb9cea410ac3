"""Ingest layer: landing files -> bronze Delta tables (every row kept, or quarantined)."""
