"""The contenders of the feature benchmark: each builds the `features/user_features`
partition of one day from the same 8 days of silver transactions, and writes it.

Every contender is a function `run(lake, day, out) -> dict`, like the ingest contenders:
`lake` is the cached, read-only lake root holding `silver/transactions`, `out` a fresh
folder. Each writes the day's rows to the Delta table `<out>/lake/features/user_features`,
partitioned by `event_date`, replacing the day's partition. That is the same for all, so
every contender pays for reading, computing and writing, and the written tables can be
compared. The returned dict has the row counts and each stage's wall seconds.

This module only names them: a contender's libraries are imported in its own process.
"""

PLATFORM = "platform: Dagster asset"
PLATFORM_FUNCTIONS = "platform functions, no Dagster"
PANDAS = "(a) pandas groupby/rolling"
FLOOR = "(b) floor: hand-written DuckDB query"

CONTENDERS = {
    PLATFORM: "benchmarks.features.platform:run_dagster_asset",
    PLATFORM_FUNCTIONS: "benchmarks.features.platform:run_functions",
    PANDAS: "benchmarks.features.pandas_baseline:run",
    FLOOR: "benchmarks.features.duckdb_floor:run",
}
DEFAULT = list(CONTENDERS)
"""Measured unless others are named (`--contender`)."""
