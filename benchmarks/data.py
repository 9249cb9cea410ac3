"""Landing data for the benchmarks: generated once per (rows, seed), then reused.

Generation is never timed. The cache lives under the work directory and is keyed by the
row count and seed; a stamp holding the generator's settings marks a finished generation,
so an interrupted one, or one made with other settings, is generated again.
"""

import json
from datetime import date
from pathlib import Path

from benchmarks.contenders import SOURCE
from fraud_generator import GeneratorConfig, generate

DAY = date(2024, 1, 1)


def landing_data(work_dir: Path, rows: int, seed: int) -> Path:
    """The landing root holding one day of `rows` transactions (JSONL + CSV, no defects)."""
    folder = work_dir / "data" / f"rows-{rows}-seed-{seed}"
    config = GeneratorConfig(
        out_dir=folder / "landing",
        start=DAY,
        days=1,
        rows_per_day=rows,
        seed=seed,
        file_format="mixed",
        files_per_day=2,
        defects=False,
    )
    stamp = _stamp(config.out_dir)
    settings = json.dumps(config.to_json(), sort_keys=True)
    if not (stamp.exists() and stamp.read_text() == settings):
        stamp.unlink(missing_ok=True)
        generate(config)
        stamp.write_text(settings)
    return config.out_dir


def describe(landing: Path) -> list[tuple[str, str]]:
    """What was generated at `landing`: the generator's settings and the files' sizes."""
    settings = json.loads(_stamp(landing).read_text())
    files = sorted((landing / SOURCE / DAY.isoformat()).iterdir())
    sizes = ", ".join(f"{path.name} {path.stat().st_size / 2**20:,.0f} MiB" for path in files)
    return [
        (
            f"data, {settings['rows_per_day']:,} rows/day",
            f"fraud_generator seed {settings['seed']}, {settings['file_format']} formats, "
            f"defects {settings['defects']}: {sizes}",
        )
    ]


def _stamp(landing: Path) -> Path:
    return landing.parent / "generated.json"
