"""Run a benchmark suite and print its results table (`make bench`).

    python -m benchmarks.run                  # ingest: 1M rows/day every contender; 2M: platform
    python -m benchmarks.run --rows 2000000   # one size, every contender
    python -m benchmarks.run --repeats 5
    python -m benchmarks.run --suite features # one user-feature partition, 1M rows/day x 8 days
    python -m benchmarks.run --suite features --contender "(b) floor: hand-written DuckDB query"
    python -m benchmarks.run --suite online   # Feast online push (1M users) and reads, both stores
    python -m benchmarks.run --suite online --rows 100000 --requests 1000 --repeats 1
    python -m benchmarks.run --suite training # training set, 1M entity rows; file store at 20k
    python -m benchmarks.run --suite drift    # drift report, 1M reference x 200k current rows

Each repeat of each contender runs in its own fresh process (`benchmarks.child`) on a fresh
output folder. The table is printed and written to benchmarks/results/<name>.md, the raw
repeats to <name>.json (name: the suite's, unless --name says otherwise). The features suite
first runs every contender once, untimed, and stops unless their written tables agree; the
online suite checks what the Feast SDK reads back from every pushed store before its reads.
"""

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

from benchmarks.contenders import CONTENDERS, PLATFORM, PLATFORM_FUNCTIONS, SUITES
from benchmarks.contention import OtherWork, busy_cores_now
from benchmarks.data import DAY, describe, landing_data
from benchmarks.report import MEMORY_TARGET_ROWS, Measurement, markdown
from benchmarks.workspace import (
    DEFAULT_WORK_DIR,
    REPO_ROOT,
    RESULTS_DIR,
    contender_environment,
)

BASE_ROWS = 1_000_000
# Other processes using more than this many cores compete with the contenders.
BUSY_CORES = 0.25


def plan(rows: int | None) -> list[tuple[int, list[str]]]:
    """(rows per day, contenders) to measure: one size if asked, else both of the issue's."""
    if rows is not None:
        return [(rows, list(CONTENDERS))]
    return [(BASE_ROWS, list(CONTENDERS)), (MEMORY_TARGET_ROWS, [PLATFORM, PLATFORM_FUNCTIONS])]


def run_once(
    contender: str,
    data: Path,
    work_dir: Path,
    log: Path,
    suite: str = "ingest",
    day: date = DAY,
    out: Path | None = None,
    python: str = sys.executable,
) -> dict:
    """One repeat in a fresh process of `python`, on an empty output folder; its JSON result.

    The output folder is deleted afterwards unless `out` names it (to inspect it)."""
    keep = out is not None
    out = out or work_dir / "run"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = out / "result.json"
    command = [
        python,
        "-m",
        "benchmarks.child",
        f"--suite={suite}",
        f"--contender={contender}",
        f"--landing={data}",
        f"--day={day.isoformat()}",
        f"--out={out}",
        f"--result={result}",
    ]
    with log.open("w") as output:
        finished = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=contender_environment(out),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    if finished.returncode != 0:
        raise SystemExit(f"{contender} failed (exit {finished.returncode}); see {log}")
    measured = json.loads(result.read_text())
    if not keep:
        shutil.rmtree(out)
    return measured


def _log(work_dir: Path, rows: int, name: str, kind: str = "") -> Path:
    log = work_dir / "logs" / f"{kind}{rows}-{name.replace(' ', '_').replace('/', '_')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return log


def measure(
    contenders: list[str], rows: int, repeats: int, run: "callable", work_dir: Path
) -> list[Measurement]:
    measured = {name: Measurement(name, rows) for name in contenders}
    # Contenders take turns within each repeat, so a slow spell of the machine is shared.
    for repeat in range(repeats):
        for name in contenders:
            print(f"  {name}: repeat {repeat + 1}/{repeats}", file=sys.stderr)
            measured[name].repeats.append(run(name, _log(work_dir, rows, name)))
    return list(measured.values())


def ingest_suite(args) -> tuple[list[Measurement], list[tuple[str, str]], "callable"]:
    measurements, facts = [], []
    for rows, contenders in plan(args.rows):
        print(f"preparing {rows:,} rows/day (cached after the first time)", file=sys.stderr)
        landing = landing_data(args.work_dir, rows, args.seed)
        facts += describe(landing)
        measurements += measure(
            contenders,
            rows,
            args.repeats,
            lambda name, log, landing=landing: run_once(name, landing, args.work_dir, log),
            args.work_dir,
        )
    return measurements, facts, markdown


def features_suite(args) -> tuple[list[Measurement], list[tuple[str, str]], "callable"]:
    # Imported here: the ingest suite does not need the platform's feature code.
    from benchmarks.features import data, report, verify
    from benchmarks.features.contenders import CONTENDERS as FEATURE_CONTENDERS
    from benchmarks.features.contenders import DEFAULT

    rows = args.rows or BASE_ROWS
    contenders = args.contender or DEFAULT
    if unknown := set(contenders) - set(FEATURE_CONTENDERS):
        raise SystemExit(f"no such feature contenders: {sorted(unknown)}")
    print(f"preparing {rows:,} rows/day x {data.DAYS} days (cached)", file=sys.stderr)
    lake = data.silver_lake(args.work_dir, rows, args.seed)

    def run(name: str, log: Path, out: Path | None = None) -> dict:
        return run_once(name, lake, args.work_dir, log, "features", data.DAY, out)

    if not args.no_verify:
        print("checking that the contenders agree (untimed)", file=sys.stderr)
        outputs = {}
        for index, name in enumerate(contenders):
            out = args.work_dir / "verify" / str(index)
            run(name, _log(args.work_dir, rows, name, "verify-"), out)
            outputs[name] = verify.written_rows(out, data.DAY)
        verify.require_agreement(outputs, reference=contenders[0])
        shutil.rmtree(args.work_dir / "verify")
        print(f"  all {len(contenders)} agree on {rows:,} rows", file=sys.stderr)
    measurements = measure(contenders, rows, args.repeats, run, args.work_dir)
    return measurements, data.describe(lake), report.markdown


def online_suite(args) -> tuple[list[Measurement], list[tuple[str, str]], "callable"]:
    # Imported here: the other suites do not need Feast or Redis.
    from benchmarks.feature_store import suite

    return suite.run(args, run_once, measure)


def training_suite(args) -> tuple[list[Measurement], list[tuple[str, str]], "callable"]:
    # Imported here: the other suites do not need the training-set benchmark.
    from benchmarks.training_set import suite

    return suite.run(args, run_once, measure)


def drift_suite(args) -> tuple[list[Measurement], list[tuple[str, str]], "callable"]:
    # Imported here: the other suites do not need the drift benchmark.
    from benchmarks.drift import suite

    return suite.run(args, run_once, measure)


SUITE_RUNNERS = {
    "ingest": ingest_suite,
    "features": features_suite,
    "online": online_suite,
    "training": training_suite,
    "drift": drift_suite,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", choices=SUITES, default="ingest")
    parser.add_argument(
        "--rows", type=int, help="one size, every contender (default: both); online: users"
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats per contender (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--name", help="results file name (default: the suite's name)")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="features, online, training, drift: skip the agreement check",
    )
    parser.add_argument(
        "--contender",
        action="append",
        help="features, online, training, drift: measure only these (repeatable)",
    )
    parser.add_argument(
        "--requests", type=int, default=5_000, help="online: timed requests per request size"
    )
    parser.add_argument(
        "--file-store-rows",
        type=int,
        help="training: entity rows of the size that includes Feast's file store (20000)",
    )
    args = parser.parse_args()

    if (busy := busy_cores_now()) > BUSY_CORES:
        print(f"warning: other processes keep {busy:.1f} cores busy", file=sys.stderr)
    others = OtherWork()
    measurements, facts, render = SUITE_RUNNERS[args.suite](args)

    facts.append(("CPU taken by other processes during the run", others.summary()))
    report = render(measurements, args.repeats, facts)
    name = args.name or args.suite
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.md").write_text(report)
    (RESULTS_DIR / f"{name}.json").write_text(
        json.dumps([asdict(measured) for measured in measurements], indent=2)
    )
    print(report)


if __name__ == "__main__":
    main()
