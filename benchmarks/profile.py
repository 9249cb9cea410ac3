"""Where a contender's time goes: cProfile of one run, by default the platform's Dagster job.

    python -m benchmarks.profile                # platform, 1,000,000 rows/day
    python -m benchmarks.profile --rows 2000000 --top 40
    python -m benchmarks.profile --contender "(a) pandas + Pandera, per-row HMAC"
    python -m benchmarks.profile --suite features   # the user-feature Dagster asset

For the platform, a table of its stages comes first. Then the top functions by cumulative
time (platform, Pandera, Delta and Arrow calls only, then everything) and by own time.
Printed, and written to benchmarks/results/profile-<contender>-<rows>.txt; the raw profile
goes to the same name with .prof (for pstats or snakeviz). Time
spent in Arrow/Delta native code, threads included, is charged to the Python call that
waited for it. cProfile's per-call overhead inflates Python loops, so compare the ranking
and the shares, not the absolute seconds, with `benchmarks.run`.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import time
from pathlib import Path

from benchmarks.contenders import PLATFORM, PLATFORM_FUNCTIONS, SUITES, load, suite_contenders
from benchmarks.data import DAY, landing_data
from benchmarks.workspace import DEFAULT_WORK_DIR, RESULTS_DIR, contender_environment

OWN_CODE = r"platform_assets|pandera|deltalake|pyarrow"
# The platform's stages as (label, file, function); none calls another, so their cumulative
# times add up, and the rest of the run is Dagster, metadata and small steps.
STAGES = [
    ("read landing files", "pathlib.py", "read_bytes"),
    ("file content hash (sha256)", "platform_assets/ingest/bronze.py", "sha256"),
    ("parse: UTF-8 check, line count, Arrow readers", "platform_assets/ingest/parsing.py", "parse"),
    ("type coercion", "platform_assets/ingest/parsing.py", "_coerce"),
    ("card tokenization", "platform_assets/ingest/parsing.py", "_tokenize_cards"),
    (
        "Pandera: bronze + quarantine schemas",
        "platform_assets/pandera_checks.py",
        "schema_problems",
    ),
    ("Delta writes (5 tables)", "platform_assets/tables.py", "commit"),
    ("silver reads bronze back from Delta", "platform_assets/resources.py", "read_partition"),
    ("silver deduplication", "platform_assets/lake/silver.py", "_deduplicate"),
    ("silver Pandera model", "platform_assets/lake/silver.py", "_validate"),
]
# Parts of the stages above worth seeing on their own (not added to the total).
DETAILS = [
    ("Arrow's JSON and CSV readers", "platform_assets/ingest/parsing.py", "parse_chunk"),
    ("Pandera building the model at first use", "pandera/api/dataframe/model.py", "to_schema"),
]
FEATURE_STAGES = [
    ("read 8 days of silver from Delta", "platform_assets/features/assets.py", "_read_input"),
    (
        "compute_user_features (DuckDB)",
        "platform_assets/features/compute.py",
        "compute_user_features",
    ),
    ("Pandera UserFeatures model", "platform_assets/pandera_checks.py", "schema_problems"),
    ("point-in-time check", "platform_assets/features/assets.py", "point_in_time_violations"),
    ("Delta write (replace the partition)", "platform_assets/resources.py", "replace_partitions"),
]
FEATURE_DETAILS = [
    ("Arrow -> pandas for Pandera", "pyarrow/pandas_compat.py", "table_to_dataframe"),
    ("Pandera building the model at first use", "pandera/api/dataframe/model.py", "to_schema"),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", choices=SUITES, default="ingest")
    parser.add_argument("--contender", help="default: the suite's platform contender")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=30, help="functions per listing")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    args = parser.parse_args()

    platform_contenders = (PLATFORM, PLATFORM_FUNCTIONS)
    if args.suite == "features":
        from benchmarks.features import contenders, data

        platform_contenders = (contenders.PLATFORM, contenders.PLATFORM_FUNCTIONS)
        args.contender = args.contender or contenders.PLATFORM
        data_dir, day = data.silver_lake(args.work_dir, args.rows, args.seed), data.DAY
        stages, details = FEATURE_STAGES, FEATURE_DETAILS
    else:
        args.contender = args.contender or PLATFORM
        data_dir, day = landing_data(args.work_dir, args.rows, args.seed), DAY
        stages, details = STAGES, DETAILS
    if args.contender not in suite_contenders(args.suite):
        parser.error(f"no contender {args.contender!r} in the {args.suite} suite")
    run = load(args.contender, args.suite)
    out = args.work_dir / "profile"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    os.environ.update(contender_environment(out))

    profiler = cProfile.Profile()
    started = time.perf_counter()
    counts = profiler.runcall(run, data_dir, day, out)
    wall = time.perf_counter() - started
    shutil.rmtree(out)

    text = io.StringIO()
    text.write(f"{args.contender}, {args.rows:,} rows/day: {wall:.1f} s under cProfile; {counts}\n")
    if args.contender in platform_contenders:
        text.write("\n" + stage_table(pstats.Stats(profiler), wall, stages, details) + "\n")
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    for order, restriction in (("cumulative", OWN_CODE), ("cumulative", ""), ("tottime", "")):
        text.write(f"\n=== by {order} time{f' ({restriction})' if restriction else ''} ===\n")
        stats.sort_stats(order).print_stats(restriction, args.top)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suite = "" if args.suite == "ingest" else f"{args.suite}-"
    name = f"profile-{suite}{_slug(args.contender)}-{args.rows}"
    (RESULTS_DIR / f"{name}.txt").write_text(text.getvalue())
    profiler.dump_stats(RESULTS_DIR / f"{name}.prof")
    print(text.getvalue())


def _slug(text: str) -> str:
    """`platform: Dagster job` -> `platform-dagster-job`, for a file name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def stage_table(stats: pstats.Stats, wall: float, stages=STAGES, details=DETAILS) -> str:
    """Cumulative seconds of each stage, and their share of the run (markdown)."""

    def seconds(file: str, function: str) -> float:
        return sum(
            cumulative
            for (path, _, name), (_, _, _, cumulative, _) in stats.stats.items()
            if name == function and path.endswith(file)
        )

    lines = ["| stage | s (cProfile) | share |", "|---|--:|--:|"]
    accounted = 0.0
    for label, file, function in stages:
        spent = seconds(file, function)
        accounted += spent
        lines.append(f"| {label} | {spent:.2f} | {spent / wall:.0%} |")
    rest = wall - accounted
    lines.append(
        f"| everything else: Dagster, metadata, small steps | {rest:.2f} | {rest / wall:.0%} |"
    )
    for label, file, function in details:
        spent = seconds(file, function)
        lines.append(
            f"| of which (inside a stage above): {label} | {spent:.2f} | {spent / wall:.0%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
