"""The contenders of the drift benchmark (`--suite drift`).

Each compares the same current day (`current.parquet`) with the same reference
(`reference.parquet`, or what was stored from it) on the same 40 numeric and 10 categorical
columns. Every contender is a function `run(data, day, out) -> dict` (see `benchmarks.child`):
`data` is the cached data folder, `out` a fresh folder. The returned dict has each stage's
wall seconds and what was computed.

This module only names them: a contender's libraries are imported in its own process, and
the Evidently contenders run in their own Python environment (EVIDENTLY).
"""

PLATFORM_REFERENCE = "platform: reference statistics build (once per reference)"
PLATFORM = "platform: daily report with stored reference"
SCIPY = "scipy per-column loop"
FLOOR = "numpy floor: one histogram pass"
EVIDENTLY = "Evidently DataDriftPreset (defaults)"
EVIDENTLY_SAME_TESTS = "Evidently, the platform's tests per column"

CONTENDERS = {
    PLATFORM_REFERENCE: "benchmarks.drift.platform:run_reference_build",
    PLATFORM: "benchmarks.drift.platform:run_daily",
    SCIPY: "benchmarks.drift.scipy_loop:run",
    FLOOR: "benchmarks.drift.numpy_floor:run",
    EVIDENTLY: "benchmarks.drift.evidently_report:run_defaults",
    EVIDENTLY_SAME_TESTS: "benchmarks.drift.evidently_report:run_platform_tests",
}
DEFAULT = list(CONTENDERS)
"""Measured unless others are named (`--contender`)."""
EVIDENTLY_CONTENDERS = {EVIDENTLY, EVIDENTLY_SAME_TESTS}
"""Run by the Python of the Evidently environment (`benchmarks.drift.evidently_env`)."""
MEASURED_ONCE = {EVIDENTLY_SAME_TESTS}
"""Measured with one repeat whatever `--repeats` says: it takes minutes at 1M rows, and it is
there to show what the platform's set of tests costs in Evidently, not to judge a target."""
VERIFIED = [SCIPY, PLATFORM, FLOOR]
"""Run once untimed before timing, their metrics compared (the scipy loop is the oracle)."""
