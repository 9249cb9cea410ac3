"""The contenders of the training-set benchmark (`--suite training`).

Each builds the training set of `fraud_model_v2` for the same labelled entity rows from the
same Delta feature tables: every entity row with its label, the user and merchant features
joined point-in-time (latest feature row at or before the row's timestamp, within the view's
TTL, ties broken by the later `created_timestamp`) and the on-demand `transaction_context`
outputs. Every contender is a function `run(data, day, out) -> dict` (see `benchmarks.child`):
`data` is the cached data folder (`lake/`, `labels.parquet`, the Feast registries), `out` a
fresh folder. The returned dict has row counts and each stage's wall seconds.

This module only names them: a contender's libraries are imported in its own process.
"""

PLATFORM = "platform: build_training_set (Feast, DuckDB-over-Delta store)"
PLATFORM_WITH_CHECK = "platform + leakage probe (the asset's two Feast joins)"
FILE_STORE = "Feast file (dask) offline store"
FLOOR = "floor: DuckDB ASOF JOIN"

CONTENDERS = {
    PLATFORM: "benchmarks.training_set.platform:run",
    PLATFORM_WITH_CHECK: "benchmarks.training_set.platform:run_with_probe",
    FILE_STORE: "benchmarks.training_set.file_store:run",
    FLOOR: "benchmarks.training_set.duckdb_floor:run",
}
DEFAULT = [PLATFORM, FILE_STORE, FLOOR]
"""Measured unless others are named (`--contender`)."""
