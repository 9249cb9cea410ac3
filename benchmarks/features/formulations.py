"""Alternative SQL formulations of the user features, timed on the same input in one process.

    python -m benchmarks.features.formulations            # 1M rows/day x 8 days (cached)
    python -m benchmarks.features.formulations --rows 20000

For the lead owning `platform_assets/features/compute.py`: what its query costs, what each
of its parts costs, and what the floor's formulation costs on exactly the Arrow table the
asset reads. Every formulation that should give the same values is checked against
`compute_user_features` first (and the run stops if one does not); "timing only" variants
drop a part of the query to show its cost and are not checked. Each is run `--repeats`
times (median), each formulation in a fresh process (in one long process, later runs got
slower). The times leave out imports, reading, validation and the write, which
`python -m benchmarks.run --suite features` measures.
"""

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from benchmarks.features import data, duckdb_floor, verify
from benchmarks.features.output import SILVER_TABLE
from benchmarks.workspace import DEFAULT_WORK_DIR, RESULTS_DIR
from platform_assets.features import compute
from platform_assets.features.assets import _TRANSACTION_COLUMNS

DISTINCT = """        count(distinct merchant_id) over (partition by user_id order by event_time
            range between interval 24 hour preceding and current row)
        - (count(*) over (partition by user_id, merchant_id order by event_time
            range between interval 24 hour preceding and current row exclude current row)
           = 0)::bigint as user_distinct_merchants_24h"""
PREVIOUS = """        lag(event_time) over in_order as prev_time,
        lag(location_lat) over in_order as prev_lat,
        lag(location_lon) over in_order as prev_lon,"""


def _platform_sql_variant(name: str, old: str, new: str) -> str:
    if old not in compute._USER_SQL:
        raise SystemExit(f"compute.py changed: cannot build the variant {name!r}")
    return compute._USER_SQL.replace(old, new)


def _run_sql(sql: str, transactions: pa.Table, day: date) -> pa.Table:
    start = datetime.combine(day, datetime.min.time(), UTC)
    parameters = {"day": day, "day_start": start, "day_end": start + timedelta(days=1)}
    used = {k: v for k, v in parameters.items() if re.search(rf"\${k}\b", sql)}
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.register("transactions", transactions)
        return connection.execute(sql, used).to_arrow_table()


def formulations(lake: Path) -> list[tuple[str, bool, Callable[[pa.Table, date], pa.Table]]]:
    """(label, checked against the platform, function of (transactions, day))."""
    silver = DeltaTable(str(lake / SILVER_TABLE))
    variants = {
        "compute.py without count(DISTINCT) OVER (timing only)": _platform_sql_variant(
            "no distinct", DISTINCT, "        0 as user_distinct_merchants_24h"
        ),
        "compute.py without the 7d EXCLUDE CURRENT ROW (timing only)": _platform_sql_variant(
            "inclusive 7d",
            "range between interval 7 day preceding and current row exclude current row",
            "range between interval 7 day preceding and current row",
        ),
        "compute.py without lag over (event_time, transaction_id) (timing only)": (
            _platform_sql_variant(
                "no lag",
                PREVIOUS,
                "        null::timestamptz as prev_time, null::double as prev_lat,\n"
                "        null::double as prev_lon,",
            )
        ),
        "compute.py without the final ORDER BY (same rows, unsorted)": _platform_sql_variant(
            "unsorted", "order by event_timestamp, transaction_id\n", ""
        ),
    }
    return [
        ("compute.py as is (compute_user_features)", True, compute.compute_user_features),
        *(
            (label, "timing only" not in label, lambda rows, day, sql=sql: _run_sql(sql, rows, day))
            for label, sql in variants.items()
        ),
        ("floor query over the same Arrow table (drop-in)", True, duckdb_floor.compute_from_arrow),
        (
            "floor query reading the Parquet files itself (ignores the Arrow table)",
            True,
            lambda rows, day: duckdb_floor.compute(silver, day),
        ),
    ]


def read_like_the_asset(lake: Path, day: date) -> pa.Table:
    """What the asset's `_read_input` reads: the 8 days, its columns, via a dataset filter."""
    first = day - timedelta(days=compute.USER_HISTORY_DAYS)
    dataset = DeltaTable(str(lake / SILVER_TABLE)).to_pyarrow_dataset()
    return dataset.to_table(
        filter=(pc.field("event_date") >= first) & (pc.field("event_date") <= day),
        columns=_TRANSACTION_COLUMNS,
    )


def measure_one(lake: Path, index: int, repeats: int, result_file: Path) -> float:
    """In this (fresh) process: formulation `index`'s median wall seconds; its result is
    written to `result_file` for the comparison."""
    _, _, function = formulations(lake)[index]
    transactions = read_like_the_asset(lake, data.DAY)
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function(transactions, data.DAY)
        walls.append(time.perf_counter() - started)
    pq.write_table(result, result_file)
    return statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--only", type=int, help=argparse.SUPPRESS)  # one, in a child
    args = parser.parse_args()

    lake = data.silver_lake(args.work_dir, args.rows, args.seed)
    folder = args.work_dir / "formulations"
    if args.only is not None:
        wall = measure_one(lake, args.only, args.repeats, folder / f"{args.only}.parquet")
        print(json.dumps({"wall": wall}))
        return

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    read_like_the_asset(lake, data.DAY)
    lines = [
        f"# SQL formulations, {args.rows:,} rows/day x {data.DAYS} days, each in a fresh "
        f"process, median of {args.repeats}",
        "",
        "| formulation | s | vs compute.py |",
        "|---|--:|--:|",
        f"| (reading the 8 days into Arrow as the asset does) "
        f"| {time.perf_counter() - started:.2f} | |",
    ]
    reference, baseline = None, None
    for index, (label, checked, _) in enumerate(formulations(lake)):
        command = [sys.executable, "-m", "benchmarks.features.formulations", f"--only={index}"]
        command += [f"--rows={args.rows}", f"--seed={args.seed}", f"--repeats={args.repeats}"]
        command += [f"--work-dir={args.work_dir}"]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        wall = json.loads(output.strip().splitlines()[-1])["wall"]
        result = pq.read_table(folder / f"{index}.parquet")
        if reference is None:
            reference, baseline = result, wall
        elif checked and (problems := verify.differences(reference, result)):
            raise SystemExit(f"{label} disagrees with compute.py: {problems}")
        lines.append(f"| {label} | {wall:.2f} | {wall / baseline:.2f}x |")
        print(lines[-1], flush=True)
    shutil.rmtree(folder)
    text = "\n".join(lines) + "\n"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"formulations-{args.rows}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
