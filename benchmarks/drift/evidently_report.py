"""Evidently's data drift report, run by the Python of the Evidently environment
(`benchmarks.drift.evidently_env`: Evidently's pins are not the platform's).

Both contenders read the two Parquet files with pandas, declare the 40 numeric and 10
categorical columns (`DataDefinition`) and run a `Report` (Evidently 0.7's API: `Report([...])
.run(current_data, reference_data)`, which computes every metric and its widgets; no HTML is
written):

- `run_defaults`: `DataDriftPreset()` as a user gets it. With more than 1,000 reference rows
  Evidently picks the normalised Wasserstein distance for numeric columns (Jensen-Shannon for
  a numeric column of at most 5 values) and the Jensen-Shannon distance for categorical ones.
- `run_platform_tests`: the same preset with `num_method="ks"`, `cat_method="chisquare"`, plus
  a `ValueDrift` per numeric column for `wasserstein` and `psi` and per categorical column for
  `jensenshannon`: every test the platform's report computes that Evidently has.

Each returns every column's score per method (as Evidently names the method), for the
agreement with the platform's metrics (`benchmarks.drift.verify`). Nothing of the platform
is imported: Evidently, and numpy, pandas and pyarrow through `benchmarks.drift.data`.
"""

import time
from importlib.metadata import version
from pathlib import Path

from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from evidently.presets import DataDriftPreset

from benchmarks.drift import data


def _run(folder: Path, metrics) -> dict:
    stages = {}
    started = time.perf_counter()
    reference, current = data.read_frames(folder)
    stages["read both (Parquet -> pandas)"] = time.perf_counter() - started
    started = time.perf_counter()
    definition = DataDefinition(
        numerical_columns=data.numeric_columns(), categorical_columns=data.categorical_columns()
    )
    snapshot = Report(metrics).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    stages["Report.run"] = time.perf_counter() - started
    scores = [
        {
            "column": metric["config"]["column"],
            "method": metric["config"]["method"],
            "threshold": metric["config"]["threshold"],
            "value": metric["value"],
        }
        for metric in snapshot.dict()["metrics"]
        if metric["config"]["type"].endswith(":ValueDrift")
    ]
    return {
        "current_rows": len(current),
        "evidently": version("evidently"),
        "scores": scores,
        "stages": stages,
    }


def run_defaults(folder: Path, day, out: Path) -> dict:
    return _run(folder, [DataDriftPreset()])


def run_platform_tests(folder: Path, day, out: Path) -> dict:
    return _run(
        folder,
        [
            DataDriftPreset(num_method="ks", cat_method="chisquare"),
            *(
                ValueDrift(column=name, method=method)
                for name in data.numeric_columns()
                for method in ("wasserstein", "psi")
            ),
            *(
                ValueDrift(column=name, method="jensenshannon")
                for name in data.categorical_columns()
            ),
        ],
    )
