"""Where a contender leaves its training set for the agreement check.

Only while the suite verifies (it sets WRITE_VARIABLE): the contender then writes the table
it built to `<out>/training_set.parquet`. Timed repeats write nothing.
"""

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

WRITE_VARIABLE = "TRAINING_BENCHMARK_WRITE_OUTPUT"
FILE = "training_set.parquet"


def keep(table: pa.Table, out: Path) -> None:
    if os.environ.get(WRITE_VARIABLE):
        pq.write_table(table, out / FILE)


def read(out: Path) -> pa.Table:
    return pq.read_table(out / FILE)
