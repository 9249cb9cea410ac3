"""One repeat of one contender in a fresh process; the runner starts it and reads its JSON.

    python -m benchmarks.child [--suite features] --contender NAME --landing DIR
        --day 2024-01-01 --out DIR --result FILE

`--landing` is the suite's input: the landing root (ingest) or the lake root holding
silver (features).

The clocks (wall, and CPU of all threads) start after the contender's imports, so import
time is reported apart; CPU seconds show how much of the machine a contender kept busy.
Memory is read from /proc/self/status: VmHWM is this process's own peak RSS (getrusage's
ru_maxrss can carry the parent's peak across fork+exec).
"""

import argparse
import json
import resource
import time
from datetime import date
from pathlib import Path

from benchmarks.contenders import SUITES, load, suite_contenders


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) / 1024  # reported in kB
    raise KeyError(field)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", choices=SUITES, default="ingest")
    parser.add_argument("--contender", required=True)
    parser.add_argument("--landing", required=True, type=Path)
    parser.add_argument("--day", required=True, type=date.fromisoformat)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--result", required=True, type=Path)
    args = parser.parse_args()

    if args.contender not in suite_contenders(args.suite):
        parser.error(f"no contender {args.contender!r} in the {args.suite} suite")

    started = time.perf_counter()
    run = load(args.contender, args.suite)
    ready = time.perf_counter()
    ready_rss = _status_mib("VmRSS")
    ready_cpu = _cpu_seconds()
    counts = run(args.landing, args.day, args.out)
    wall = time.perf_counter() - ready
    result = {
        "wall_seconds": wall,
        "cpu_seconds": _cpu_seconds() - ready_cpu,
        "import_seconds": ready - started,
        "peak_rss_mib": _status_mib("VmHWM"),
        "rss_after_imports_mib": ready_rss,
        "counts": counts,
    }
    args.result.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
