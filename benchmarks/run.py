"""Run the ingest benchmark and print its results table (`make bench`).

    python -m benchmarks.run                  # 1M rows/day: every contender; 2M: the platform
    python -m benchmarks.run --rows 2000000   # one size, every contender
    python -m benchmarks.run --repeats 5

Each repeat of each contender runs in its own fresh process (`benchmarks.child`) on a fresh
output folder. The table is printed and written to benchmarks/results/<name>.md, the raw
repeats to <name>.json.
"""

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from benchmarks.contenders import CONTENDERS, PLATFORM, PLATFORM_FUNCTIONS
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


def run_once(contender: str, landing: Path, work_dir: Path, log: Path) -> dict:
    """One repeat in a fresh process, on an empty output folder; its JSON result."""
    out = work_dir / "run"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = out / "result.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.child",
        f"--contender={contender}",
        f"--landing={landing}",
        f"--day={DAY.isoformat()}",
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
    shutil.rmtree(out)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, help="one size, every contender (default: both)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per contender (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--name", default="ingest", help="results file name")
    args = parser.parse_args()

    if (busy := busy_cores_now()) > BUSY_CORES:
        print(f"warning: other processes keep {busy:.1f} cores busy", file=sys.stderr)
    others = OtherWork()
    measurements, facts = [], []
    for rows, contenders in plan(args.rows):
        print(f"preparing {rows:,} rows/day (cached after the first time)", file=sys.stderr)
        landing = landing_data(args.work_dir, rows, args.seed)
        facts += describe(landing)
        measured = {name: Measurement(name, rows) for name in contenders}
        # Contenders take turns within each repeat, so a slow spell of the machine is shared.
        for repeat in range(args.repeats):
            for name in contenders:
                print(f"  {name}: repeat {repeat + 1}/{args.repeats}", file=sys.stderr)
                log = args.work_dir / "logs" / f"{rows}-{name.replace(' ', '_')}.log"
                log.parent.mkdir(parents=True, exist_ok=True)
                measured[name].repeats.append(run_once(name, landing, args.work_dir, log))
        measurements += measured.values()

    facts.append(("CPU taken by other processes during the run", others.summary()))
    report = markdown(measurements, args.repeats, facts)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{args.name}.md").write_text(report)
    (RESULTS_DIR / f"{args.name}.json").write_text(
        json.dumps([asdict(measured) for measured in measurements], indent=2)
    )
    print(report)


if __name__ == "__main__":
    main()
