"""What to generate: one frozen config object shared by the Python API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

FILE_FORMATS = ("mixed", "jsonl", "csv")
SCHEMA_DEFECTS = ("removed_column", "renamed_column")
# The defect mix needs room: ~60 corrupted lines per day, spread over at least two files.
MIN_ROWS_PER_DAY_WITH_DEFECTS = 200
MIN_FILES_PER_DAY_WITH_DEFECTS = 2
# Independent random streams: a day never depends on other days, and switching defects on
# never changes the events or chargebacks of the clean lines.
RANDOM_STREAMS = ("world", "events", "defects", "chargebacks")


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of one generator run; equal configs produce byte-identical output."""

    out_dir: Path
    start: date
    days: int
    rows_per_day: int = 1000
    seed: int = 7
    file_format: str = "mixed"
    files_per_day: int = 2
    n_users: int | None = None
    n_merchants: int | None = None
    fraud_rate: float = 0.01
    drift_from: date | None = None
    defects: bool = False
    schema_defect: str | None = None
    as_of: date | None = None
    progress: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        problems = []
        if self.days < 1:
            problems.append("days must be >= 1")
        if self.rows_per_day < self.files_per_day:
            problems.append("rows_per_day must be >= files_per_day (no accidental empty files)")
        if self.files_per_day < 1:
            problems.append("files_per_day must be >= 1")
        if self.seed < 0:
            problems.append("seed must be >= 0")
        if self.file_format not in FILE_FORMATS:
            problems.append(f"file_format must be one of {FILE_FORMATS}")
        if self.schema_defect not in (None, *SCHEMA_DEFECTS):
            problems.append(f"schema_defect must be None or one of {SCHEMA_DEFECTS}")
        if not 0.0 <= self.fraud_rate <= 0.5:
            problems.append("fraud_rate must be within [0, 0.5]")
        if self.n_users is not None and self.n_users < 1:
            problems.append("n_users must be >= 1")
        if self.n_merchants is not None and self.n_merchants < 10:
            problems.append("n_merchants must be >= 10 (one per merchant category)")
        if self.defects and self.rows_per_day < MIN_ROWS_PER_DAY_WITH_DEFECTS:
            problems.append(f"defects need rows_per_day >= {MIN_ROWS_PER_DAY_WITH_DEFECTS}")
        if self.defects and self.files_per_day < MIN_FILES_PER_DAY_WITH_DEFECTS:
            problems.append(f"defects need files_per_day >= {MIN_FILES_PER_DAY_WITH_DEFECTS}")
        if problems:
            raise ValueError("invalid GeneratorConfig: " + "; ".join(problems))

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    @property
    def user_count(self) -> int:
        return self.n_users or max(200, self.rows_per_day // 10)

    @property
    def merchant_count(self) -> int:
        return self.n_merchants or max(300, self.rows_per_day // 100)

    @property
    def chargebacks_known_until(self) -> date:
        """Chargebacks reported after this date are not written (they are in the future)."""
        return self.as_of or self.last_day

    @property
    def part_formats(self) -> list[str]:
        """Format of each regular file of a day; "mixed" alternates jsonl and csv."""
        if self.file_format == "mixed":
            return ["jsonl" if part % 2 == 0 else "csv" for part in range(self.files_per_day)]
        return [self.file_format] * self.files_per_day

    def random_stream(self, purpose: str, day: date | None = None) -> np.random.Generator:
        key = [self.seed, RANDOM_STREAMS.index(purpose)]
        return np.random.default_rng(key if day is None else [*key, day.toordinal()])

    def is_drifted(self, day: date) -> bool:
        return self.drift_from is not None and day >= self.drift_from

    def to_json(self) -> dict:
        """The settings that shape the output (not where it goes or how it is shown)."""
        return {
            "start": self.start.isoformat(),
            "days": self.days,
            "rows_per_day": self.rows_per_day,
            "seed": self.seed,
            "file_format": self.file_format,
            "files_per_day": self.files_per_day,
            "n_users": self.user_count,
            "n_merchants": self.merchant_count,
            "fraud_rate": self.fraud_rate,
            "drift_from": self.drift_from.isoformat() if self.drift_from else None,
            "defects": self.defects,
            "schema_defect": self.schema_defect,
            "as_of": self.chargebacks_known_until.isoformat(),
        }
