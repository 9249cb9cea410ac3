"""The contenders of the ingest benchmark: each takes one day of landing files to Delta.

Every contender is a function `run(landing, day, out) -> dict` of row counts, imported
only inside its own child process (see `benchmarks.child`), so its imports are not timed
and its peak memory is its own.
"""

import importlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

SOURCE = "transactions"
PLATFORM = "platform: Dagster job"
PLATFORM_FUNCTIONS = "platform functions, no Dagster"
PANDAS = "(a) pandas + Pandera, per-row HMAC"
FLOOR = "(b) floor: pyarrow read only"

CONTENDERS = {
    PLATFORM: "benchmarks.contenders.platform:run_dagster_job",
    PLATFORM_FUNCTIONS: "benchmarks.contenders.platform:run_functions",
    PANDAS: "benchmarks.contenders.pandas_baseline:run",
    FLOOR: "benchmarks.contenders.arrow_floor:run",
}


SUITES = {
    "ingest": "benchmarks.contenders",
    "features": "benchmarks.features.contenders",
    "online": "benchmarks.feature_store.contenders",
    "training": "benchmarks.training_set.contenders",
    "drift": "benchmarks.drift.contenders",
}
"""Each benchmark suite's module of contenders (a `CONTENDERS` dict: name -> module:function)."""


def suite_contenders(suite: str) -> dict[str, str]:
    return importlib.import_module(SUITES[suite]).CONTENDERS


def load(name: str, suite: str = "ingest") -> Callable[[Path, date, Path], dict]:
    """The contender's `run` function (importing its module, and so its libraries)."""
    module, function = suite_contenders(suite)[name].split(":")
    return getattr(importlib.import_module(module), function)


def transaction_files(landing: Path, day: date) -> list[Path]:
    """The day's data files in name order (`_`/`.` names are not data, as in the contract)."""
    folder = landing / SOURCE / day.isoformat()
    return sorted(
        path for path in folder.iterdir() if path.is_file() and not path.name.startswith(("_", "."))
    )
