"""(b) The floor: read the day's files with pyarrow's own readers, and nothing else."""

from datetime import date
from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from benchmarks.contenders import transaction_files


def run(landing: Path, day: date, out: Path) -> dict:
    rows = 0
    for path in transaction_files(landing, day):
        read = pa_csv.read_csv if path.suffix == ".csv" else pa_json.read_json
        rows += read(path).num_rows
    return {"source_rows": rows}
