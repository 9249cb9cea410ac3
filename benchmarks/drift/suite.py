"""The drift suite of `benchmarks.run`: prepare, verify, then time.

1. The data (cached), then, untimed: the platform's stored reference statistics
   (`platform.store_reference`, rebuilt every run from the code being measured), the floor's
   stored bins (`numpy_floor.prepare`) and, if an Evidently contender is chosen, the Evidently
   environment (`evidently_env.ensure`, built once).
2. Unless `--no-verify`: the scipy loop, the platform and the floor run once untimed and write
   their metrics; the platform and the floor must equal the scipy loop's (else the run stops).
3. Every chosen contender, `--repeats` times each (once: `contenders.MEASURED_ONCE`), in its
   own process; the Evidently ones by the Evidently environment's Python. Evidently's
   per-column scores from its last repeat are compared with the platform's metrics, and each
   report's flagged columns with the truth.
"""

import sys
from pathlib import Path

from benchmarks.drift import (
    contenders,
    data,
    evidently_env,
    numpy_floor,
    output,
    platform,
    report,
    verify,
)
from benchmarks.report import Measurement
from benchmarks.workspace import outputs_once

BASE_ROWS = 1_000_000


def run(args, run_once, measure) -> tuple[list[Measurement], list[tuple[str, str]], object]:
    rows = args.rows or BASE_ROWS
    chosen = args.contender or contenders.DEFAULT
    if unknown := set(chosen) - set(contenders.CONTENDERS):
        raise SystemExit(f"no such drift contenders: {sorted(unknown)}")
    print(f"preparing {rows:,} reference rows (cached)", file=sys.stderr)
    folder = data.drift_data(args.work_dir, rows, args.seed)
    print("storing the reference statistics and the floor's bins (untimed)", file=sys.stderr)
    platform.store_reference(folder)
    numpy_floor.prepare(folder)
    pythons = {name: sys.executable for name in contenders.CONTENDERS}
    if set(chosen) & contenders.EVIDENTLY_CONTENDERS:
        pythons |= dict.fromkeys(contenders.EVIDENTLY_CONTENDERS, str(evidently_env.ensure()))

    def once(name: str, log: Path, out: Path | None = None) -> dict:
        return run_once(
            name, folder, args.work_dir, log, "drift", data.DAY, out, python=pythons[name]
        )

    tables = {}
    if not args.no_verify:
        print("checking the metrics against the scipy loop (untimed)", file=sys.stderr)
        tables = verified_metrics(once, args.work_dir, rows)
    repeated = [name for name in chosen if name not in contenders.MEASURED_ONCE]
    measurements = measure(repeated, rows, args.repeats, once, args.work_dir)
    once_only = [name for name in chosen if name in contenders.MEASURED_ONCE]
    measurements += measure(once_only, rows, 1, once, args.work_dir)
    judge(measurements, tables, verify.drifted_columns(folder))
    return measurements, data.describe(folder), report.markdown


def verified_metrics(once, work_dir: Path, rows: int) -> dict:
    """Run the verified contenders once, writing their metrics; raise unless they agree.
    Returns their tables and comparisons."""
    tables = outputs_once(
        contenders.VERIFIED, once, work_dir, f"drift-{rows}", output.WRITE_VARIABLE, output.read
    )
    comparisons = verify.require_agreement(tables, oracle=contenders.SCIPY)
    for name, comparison in comparisons.items():
        print(f"  {name}: {comparison.summary()}", file=sys.stderr)
    return {"tables": tables, "comparisons": comparisons}


def judge(measurements: list[Measurement], verified: dict, drifted: set[str]) -> None:
    """Attach to each contender's last repeat what was checked: its agreement, and which
    columns its report flags against the truth."""
    comparisons = verified.get("comparisons", {})
    for measured in measurements:
        counts = measured.repeats[-1]["counts"]
        if measured.contender in comparisons:
            counts["agreement"] = comparisons[measured.contender].to_json()
        if "severities" in counts:
            severities = counts["severities"]
            counts["flags"] = {
                f"severity {level}": verify.flags_against_truth(
                    {column for column, severity in severities.items() if severity in levels},
                    set(severities),
                    drifted,
                )
                for level, levels in (
                    ("warning or critical", {"warning", "critical"}),
                    ("critical", {"critical"}),
                )
            }
        if "scores" in counts:
            counts["flags"] = {
                f"`{method}` at Evidently's threshold": verify.flags_against_truth(
                    flagged, judged, drifted
                )
                for method, (judged, flagged) in verify.evidently_flags(counts["scores"]).items()
            }
            if verified:
                counts["evidently_agreement"] = verify.evidently_agreement(
                    counts["scores"], verified["tables"][contenders.PLATFORM]
                )
