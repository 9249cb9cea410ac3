"""`platform-generate`: the command-line face of `fraud_generator.generate`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from fraud_generator.config import FILE_FORMATS, SCHEMA_DEFECTS, GeneratorConfig
from fraud_generator.generate import generate
from fraud_generator.truth import GroundTruth


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="platform-generate",
        description="Write deterministic card-payment landing files and their ground truth.",
    )
    parser.add_argument("--out", type=Path, default=Path("landing"), help="landing folder")
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day")
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--rows-per-day", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", dest="file_format", choices=FILE_FORMATS, default="mixed")
    parser.add_argument("--files-per-day", type=int, default=2)
    parser.add_argument("--n-users", type=int, help="default: max(200, rows-per-day / 10)")
    parser.add_argument("--n-merchants", type=int, help="default: max(300, rows-per-day / 100)")
    parser.add_argument("--fraud-rate", type=float, default=0.01)
    parser.add_argument(
        "--drift-from", type=date.fromisoformat, help="shift amount, payment mix, hours from here"
    )
    parser.add_argument("--defects", action="store_true", help="inject the contract's bad input")
    parser.add_argument(
        "--schema-defect", choices=SCHEMA_DEFECTS, help="break one file of the last day"
    )
    parser.add_argument(
        "--as-of", type=date.fromisoformat, help="chargebacks known until (default: last day)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _report(truth: GroundTruth) -> str:
    summary = truth.summary
    days = summary["per_day"].values()
    defects = sum(sum(day["defects"].values()) for day in days)
    return (
        f"Wrote {len(summary['files'])} files to {truth.landing_dir}: "
        f"{len(summary['days'])} day(s), {sum(d['rows'] for d in days)} transactions "
        f"in {sum(d['source_lines'] for d in days)} source lines, "
        f"{sum(d['frauds'] for d in days)} frauds, {defects} injected defects, "
        f"{summary['chargebacks']['written']} chargebacks.\n"
        f"Ground truth: {truth.truth_dir}/ (transactions.parquet, chargebacks.parquet, "
        "summary.json)"
    )


def main(argv: list[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    out_dir, quiet = args.pop("out"), args.pop("quiet")
    try:
        config = GeneratorConfig(out_dir=out_dir, progress=not quiet, **args)
    except ValueError as error:
        _parser().error(str(error))
    print(_report(generate(config)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
