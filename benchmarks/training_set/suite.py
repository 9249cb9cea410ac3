"""The training suite of `benchmarks.run`: verify, then time, at two sizes.

1. `--rows` entity rows (default 1M): the platform and the floor (and whichever contenders
   `--contender` names).
2. `--file-store-rows` entity rows (default 20,000): every contender, Feast's file (dask)
   store included. At 1M rows the file store cannot finish here: its left merge pairs each
   entity row with every feature row of its entity (about 300 merchant rows each, 300M pairs
   at 1M rows) before the TTL filter. At 20,000 rows it already takes minutes.

At each size every contender runs once untimed and writes its table; the platform must
equal the floor row for row (else the run stops); what the file store returns differently
(dropped rows, values) is recorded and reported, not hidden.
"""

import json
import sys
from pathlib import Path

from benchmarks.report import Measurement
from benchmarks.training_set import contenders, data, output, repo, report, verify
from benchmarks.workspace import outputs_once

BASE_ROWS = 1_000_000
FILE_STORE_ROWS = 20_000


def run(args, run_once, measure) -> tuple[list[Measurement], list[tuple[str, str]], object]:
    rows = args.rows or BASE_ROWS
    small = getattr(args, "file_store_rows", None) or FILE_STORE_ROWS
    chosen = args.contender or contenders.DEFAULT
    if unknown := set(chosen) - set(contenders.CONTENDERS):
        raise SystemExit(f"no such training contenders: {sorted(unknown)}")
    plan = [(rows, [name for name in chosen if name != contenders.FILE_STORE])]
    if contenders.FILE_STORE in chosen:
        plan = [(rows, chosen)] if small == rows else [*plan, (small, chosen)]
    measurements, facts = [], []
    for size, names in plan:
        if not names:
            continue
        print(f"preparing {size:,} entity rows (cached)", file=sys.stderr)
        folder = data.training_data(args.work_dir, size, args.seed)
        repo.prepare_registries(folder)
        facts += data.describe(folder)

        def once(name: str, log: Path, out: Path | None = None, folder=folder) -> dict:
            return run_once(name, folder, args.work_dir, log, "training", data.DAY, out)

        agreement = {}
        if not args.no_verify:
            print(f"checking the training sets at {size:,} rows (untimed)", file=sys.stderr)
            agreement = check_agreement(names, size, once, args.work_dir)
        sized = measure(names, size, args.repeats, once, args.work_dir)
        for measured in sized:
            measured.repeats[-1]["counts"]["agreement"] = agreement.get(measured.contender)
        measurements += sized
    return measurements, facts, report.markdown


def check_agreement(names: list[str], size: int, once, work_dir: Path) -> dict[str, dict]:
    reference = contenders.FLOOR
    order = [reference, *(name for name in names if name != reference)]
    tables = outputs_once(order, once, work_dir, str(size), output.WRITE_VARIABLE, output.read)
    must_agree = {contenders.PLATFORM, contenders.PLATFORM_WITH_CHECK}
    comparisons = verify.check(tables, reference, must_agree)
    for name, comparison in comparisons.items():
        print(f"  {name}: {comparison.summary()}", file=sys.stderr)
    return {name: json.loads(json.dumps(c.to_json())) for name, c in comparisons.items()}
