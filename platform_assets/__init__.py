"""Dagster code location of the fraud ML data platform."""
