"""The plan of one day's transaction files: which event goes on which physical line of
which file, which lines carry which defect, and what the ground truth expects of each line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from fraud_generator.config import GeneratorConfig
from fraud_generator.defects import (
    ADDED_COLUMN,
    DEFECT_NAMES,
    DUPLICATE,
    EMPTY_FILE,
    KIND_EVENT_TIME_RESOLUTION,
    KIND_OUTCOME,
    KIND_REASON,
    KIND_WARNING,
    LAST_LINE,
    OUTCOMES,
    REASONS,
    REDELIVERED_FILE,
    REJECTED,
    ROW_DEFECT_NAMES,
    ROW_DEFECTS,
    SILVER,
    TRUNCATED_RECORD,
    UNEXPECTED_COLUMNS,
)
from fraud_generator.events import DayEvents


@dataclass
class FilePlan:
    path: str  # relative to the landing folder
    fmt: str
    line_rows: np.ndarray  # event row behind each data line, in physical order
    line_defects: np.ndarray  # index into ROW_DEFECTS, -1 for a clean line
    added_column: bool = False
    schema_defect: str | None = None
    copy_of: FilePlan | None = None  # a re-delivered byte copy of that file

    @property
    def first_data_line(self) -> int:
        return 2 if self.fmt == "csv" else 1


@dataclass
class LineExpectations:
    """Per data line of a day, vocabulary indices (-1: null) of the ground-truth labels."""

    defect: np.ndarray
    outcome: np.ndarray
    reason: np.ndarray
    warning: np.ndarray
    event_time_resolution_ms: np.ndarray


@dataclass
class DayPlan:
    day: date
    files: list[FilePlan]  # regular files, then re-delivered copies
    corrupted: np.ndarray  # per event: its line will not reach silver
    empty_files: list[FilePlan] = field(default_factory=list)
    rejected: bool = False  # a schema defect rejects the partition's batch as a whole

    @property
    def source_lines(self) -> int:
        return sum(len(plan.line_rows) for plan in self.files)

    def events_expected_in_silver(self) -> np.ndarray:
        return ~self.corrupted & (not self.rejected)

    def line_expectations(self) -> LineExpectations:
        kinds = np.concatenate([plan.line_defects for plan in self.files])
        injected = kinds >= 0
        defect = kinds.copy()
        outcome = np.where(injected, KIND_OUTCOME[kinds], OUTCOMES.index(SILVER))
        reason = np.where(injected, KIND_REASON[kinds], -1)
        warning = np.where(injected, KIND_WARNING[kinds], -1)
        start = 0
        for plan in self.files:
            lines = slice(start, start + len(plan.line_rows))
            start = lines.stop
            if plan.added_column:
                warning[lines] = UNEXPECTED_COLUMNS
            if plan.copy_of is not None:
                defect[lines] = DEFECT_NAMES.index(REDELIVERED_FILE)
                outcome[lines] = OUTCOMES.index(DUPLICATE)
                reason[lines] = REASONS.index(REDELIVERED_FILE)
                warning[lines] = -1
            if plan.schema_defect:
                defect[lines] = DEFECT_NAMES.index(plan.schema_defect)
        if self.rejected:
            outcome[:] = OUTCOMES.index(REJECTED)
            reason[:] = -1
            warning[:] = -1
        resolution = np.where(injected, KIND_EVENT_TIME_RESOLUTION[kinds], 1)
        return LineExpectations(defect, outcome, reason, warning, resolution)

    def defect_counts(self) -> dict[str, int]:
        """Injected row defects (lines, copies not counted) and file defects (files)."""
        counts = Counter()
        for plan in self.files:
            if plan.copy_of is None:
                kinds, per_kind = np.unique(
                    plan.line_defects[plan.line_defects >= 0], return_counts=True
                )
                counts.update(
                    {ROW_DEFECT_NAMES[k]: int(n) for k, n in zip(kinds, per_kind, strict=True)}
                )
            else:
                counts[REDELIVERED_FILE] += 1
            counts[ADDED_COLUMN] += plan.added_column
            if plan.schema_defect:
                counts[plan.schema_defect] += 1
        counts[EMPTY_FILE] += len(self.empty_files)
        return {name: counts[name] for name in sorted(counts) if counts[name]}


def _place_row_defects(
    events: DayEvents, file_of_row: np.ndarray, bounds: np.ndarray, formats: list[str], rng
) -> list[tuple[int, int]]:
    """(event row, defect kind) pairs: 1-3 of every kind that fits the day's file formats.
    Only legit events are corrupted, so fraud labels and account-takeover sequences stay
    intact; warnings avoid the last file, which carries the added column."""
    available = ~events.is_fraud & ~events.precedes_takeover
    last_line_of_first_file = int(bounds[1]) - 1
    available[last_line_of_first_file] = False
    placements = [(last_line_of_first_file, TRUNCATED_RECORD)]
    added_column_part = len(formats) - 1
    for index, kind in enumerate(ROW_DEFECTS):
        if kind.placement == LAST_LINE:
            continue
        parts = [
            part
            for part, fmt in enumerate(formats)
            if fmt in kind.formats and not (kind.warning and part == added_column_part)
        ]
        pool = np.flatnonzero(available & np.isin(file_of_row, parts))
        count = min(int(rng.integers(1, 4)), pool.size)
        rows = np.sort(rng.choice(pool, size=count, replace=False))
        available[rows] = False
        placements += [(int(row), index) for row in rows]
    return placements


def _file_plan(path: str, fmt: str, first_row: int, end_row: int, placements, rng) -> FilePlan:
    count = end_row - first_row
    rows = [np.arange(first_row, end_row)]
    keys = [np.arange(count, dtype=np.float64)]  # physical order = sorted keys
    defects = [np.full(count, -1)]
    for row, index in placements:
        position = row - first_row
        kind = ROW_DEFECTS[index]
        if kind.replaces_line:
            defects[0][position] = index
            continue
        # an earlier copy: somewhere before the event's own line
        key = position - rng.uniform(0.1, 0.9) * max(position, 1)
        rows.append(np.array([row]))
        keys.append(np.array([key]))
        defects.append(np.array([index]))
    order = np.argsort(np.concatenate(keys), kind="stable")
    return FilePlan(path, fmt, np.concatenate(rows)[order], np.concatenate(defects)[order])


def plan_day(events: DayEvents, config: GeneratorConfig) -> DayPlan:
    day = events.day
    rng = config.random_stream("defects", day)
    formats = config.part_formats
    folder = f"transactions/{day.isoformat()}"
    bounds = np.linspace(0, events.size, len(formats) + 1).round().astype(np.int64)
    file_of_row = np.repeat(np.arange(len(formats)), np.diff(bounds))
    placements = (
        _place_row_defects(events, file_of_row, bounds, formats, rng) if config.defects else []
    )
    files = [
        _file_plan(
            f"{folder}/part-{part}.{fmt}",
            fmt,
            int(bounds[part]),
            int(bounds[part + 1]),
            [(row, kind) for row, kind in placements if file_of_row[row] == part],
            rng,
        )
        for part, fmt in enumerate(formats)
    ]
    corrupted = np.zeros(events.size, dtype=bool)
    for row, index in placements:
        kind = ROW_DEFECTS[index]
        corrupted[row] = kind.replaces_line and kind.outcome != SILVER
    plan = DayPlan(day, files, corrupted)
    if config.defects:
        files[-1].added_column = True
        original = files[0]
        # "part-0.redelivered.jsonl" sorts after "part-0.jsonl" ("-" would sort before "."),
        # so the original is the first delivery in name order.
        copy_path = f"{folder}/part-0.redelivered.{original.fmt}"
        files.append(
            FilePlan(
                copy_path, original.fmt, original.line_rows, original.line_defects, copy_of=original
            )
        )
        plan.empty_files = [
            FilePlan(
                f"{folder}/part-empty.{fmt}",
                fmt,
                np.array([], dtype=np.int64),
                np.array([], dtype=np.int64),
            )
            for fmt in sorted(set(formats))
        ]
    if config.schema_defect and day == config.last_day:
        files[0].schema_defect = config.schema_defect
        plan.rejected = True
    return plan
