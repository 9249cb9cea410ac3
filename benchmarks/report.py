"""The results as markdown: machine facts, the measured table, and the issue's targets."""

import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from benchmarks.contenders import FLOOR, PANDAS, PLATFORM, PLATFORM_FUNCTIONS
from benchmarks.workspace import REPO_ROOT

MEMORY_TARGET_ROWS = 2_000_000
MEMORY_LIMIT_MIB = 4 * 1024
FLOOR_RATIO_LIMIT = 1.5
PANDAS_SPEEDUP_TARGET = 3.0
LIBRARIES = ("pyarrow", "pandas", "pandera", "deltalake", "dagster", "numpy", "duckdb")


@dataclass
class Measurement:
    """Every repeat of one contender at one size."""

    contender: str
    rows: int
    repeats: list[dict] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(repeat["wall_seconds"] for repeat in self.repeats)

    @property
    def spread(self) -> float:
        """Slowest minus fastest repeat: how much the machine moved the wall time."""
        walls = [repeat["wall_seconds"] for repeat in self.repeats]
        return max(walls) - min(walls)

    @property
    def cpu(self) -> float:
        return statistics.median(repeat["cpu_seconds"] for repeat in self.repeats)

    @property
    def peak_rss_mib(self) -> float:
        return max(repeat["peak_rss_mib"] for repeat in self.repeats)

    @property
    def counts(self) -> dict:
        return self.repeats[-1]["counts"]

    @property
    def rows_per_second(self) -> float:
        return self.counts["source_rows"] / self.wall


def machine_facts() -> list[tuple[str, str]]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    commit = _git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    # Other work may be in progress: say when the measured code is not the commit's.
    if _git("diff", "--quiet", "HEAD", "--", "platform_assets").returncode:
        commit += " (platform_assets has uncommitted changes)"
    return [
        ("date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ("CPU", cpu),
        ("cores usable", f"{len(os.sched_getaffinity(0))} of {os.cpu_count()}"),
        ("RAM", f"{memory_kib / 1024**2:.1f} GiB"),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        *((library, version(library)) for library in LIBRARIES),
        ("repo commit", commit),
    ]


def _git(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *arguments], cwd=REPO_ROOT, capture_output=True, text=True)


def results_table(measurements: list[Measurement]) -> str:
    lines = [
        "| contender | rows/day | wall s (median) | min-max s | rows/s | CPU s | peak RSS MiB "
        "| RSS after imports MiB | imports s | bronze rows | silver rows |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for measured in measurements:
        walls = [repeat["wall_seconds"] for repeat in measured.repeats]
        counts = measured.counts
        lines.append(
            f"| {measured.contender} | {measured.rows:,} | {measured.wall:.2f} "
            f"| {min(walls):.2f}-{max(walls):.2f} | {measured.rows_per_second:,.0f} "
            f"| {measured.cpu:.1f} "
            f"| {measured.peak_rss_mib:,.0f} "
            f"| {max(r['rss_after_imports_mib'] for r in measured.repeats):,.0f} "
            f"| {statistics.median(r['import_seconds'] for r in measured.repeats):.1f} "
            f"| {_count(counts, 'bronze_rows')} | {_count(counts, 'silver_rows')} |"
        )
    return "\n".join(lines)


def _count(counts: dict, name: str) -> str:
    return f"{counts[name]:,}" if name in counts else "-"


def targets_table(measurements: list[Measurement]) -> str:
    """The issue's targets, judged on wall time; the CPU-time ratio is shown beside it
    because it moves less when other processes share the machine."""
    found = {(m.contender, m.rows): m for m in measurements}
    lines = [
        "| target (from the issue) | rows/day | measured (wall) | verdict | same ratio, CPU s |",
        "|---|--:|--:|---|--:|",
    ]
    for rows in sorted({m.rows for m in measurements}):
        platform_run = found.get((PLATFORM, rows))
        floor, pandas = found.get((FLOOR, rows)), found.get((PANDAS, rows))
        if platform_run and floor:
            lines.append(
                ratio_target_row(
                    f"platform within {FLOOR_RATIO_LIMIT}x of the floor (platform / floor)",
                    platform_run,
                    floor,
                    at_most=FLOOR_RATIO_LIMIT,
                    size=rows,
                )
            )
        if platform_run and pandas:
            lines.append(
                ratio_target_row(
                    f"platform at least {PANDAS_SPEEDUP_TARGET:.0f}x faster than (a) "
                    "(pandas / platform)",
                    pandas,
                    platform_run,
                    at_least=PANDAS_SPEEDUP_TARGET,
                    size=rows,
                )
            )
    memory_run = found.get((PLATFORM, MEMORY_TARGET_ROWS))
    if memory_run:
        peak = memory_run.peak_rss_mib
        memory = f"{peak:,.0f} MiB peak RSS | {verdict(peak < MEMORY_LIMIT_MIB)}"
    else:
        memory = "not measured | run without --rows, or with --rows 2000000"
    lines.append(
        f"| platform peak RSS under {MEMORY_LIMIT_MIB // 1024} GiB "
        f"| {MEMORY_TARGET_ROWS:,} | {memory} | - |"
    )
    return "\n".join(lines)


def median_of(measured: Measurement, key: str) -> float:
    """The median over the repeats of one of the child's results, e.g. "import_seconds"."""
    return statistics.median(repeat[key] for repeat in measured.repeats)


def stages_table(measurements: list[Measurement], with_rows: str | None = None) -> str:
    """One line per contender with its stages' median wall seconds; `with_rows` names a
    column of each contender's size when a suite measures several."""
    rows_header = f" {with_rows} |" if with_rows else ""
    lines = [
        f"| contender |{rows_header} stages, median wall s |",
        f"|---|{'--:|' if with_rows else ''}---|",
    ]
    for measured in measurements:
        size = f" {measured.rows:,} |" if with_rows else ""
        lines.append(f"| {measured.contender} |{size} {stage_medians(measured)} |")
    return "\n".join(lines)


def stage_medians(measured: Measurement) -> str:
    """Each stage the contender reported (counts["stages"]), with its median wall seconds."""
    names = measured.repeats[0]["counts"].get("stages", {})
    return ", ".join(
        f"{name} {statistics.median(r['counts']['stages'][name] for r in measured.repeats):.2f}"
        for name in names
    )


def verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def ratio_target_row(
    label: str,
    numerator: Measurement,
    denominator: Measurement,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
    size: int | None = None,
    digits: int = 2,
) -> str:
    """One row of a targets table, judged on the wall-time ratio numerator / denominator
    (at most or at least the target), with the same ratio on CPU seconds beside it because
    it moves less when other processes share the machine. `size` adds a rows cell."""
    ratio = numerator.wall / denominator.wall
    met = (at_most is None or ratio <= at_most) and (at_least is None or ratio >= at_least)
    cells = [
        label,
        *([f"{size:,}"] if size is not None else []),
        f"{ratio:.{digits}f}x",
        verdict(met),
        f"{numerator.cpu / denominator.cpu:.{digits}f}x",
    ]
    return "| " + " | ".join(cells) + " |"


def overhead_notes(measurements: list[Measurement]) -> list[str]:
    """What Dagster adds, and how far the platform's functions alone are from the floor."""
    found = {(m.contender, m.rows): m for m in measurements}
    notes = []
    for rows in sorted({m.rows for m in measurements}):
        job, functions = found.get((PLATFORM, rows)), found.get((PLATFORM_FUNCTIONS, rows))
        floor = found.get((FLOOR, rows))
        if job and functions:
            difference = job.wall - functions.wall
            noise = max(job.spread, functions.spread)
            verdict = "within" if abs(difference) <= noise else "beyond"
            notes.append(
                f"{rows:,} rows/day: the Dagster job minus the same functions without it: "
                f"{difference:+.2f} s wall ({difference / functions.wall:+.0%}), "
                f"{job.cpu - functions.cpu:+.2f} CPU s; {verdict} the repeats' spread "
                f"({noise:.2f} s)."
            )
        if functions and floor:
            notes.append(
                f"{rows:,} rows/day: the platform's functions alone take "
                f"{functions.wall / floor.wall:.2f}x the floor."
            )
    return notes


def markdown(
    measurements: list[Measurement], repeats: int, run_facts: list[tuple[str, str]]
) -> str:
    facts = "\n".join(f"- {name}: {value}" for name, value in machine_facts())
    run = "\n".join(f"- {name}: {value}" for name, value in run_facts)
    notes = "\n".join(f"- {note}" for note in overhead_notes(measurements))
    return f"""# Ingest benchmark: landing -> bronze -> silver, one day of transactions

Machine:
{facts}

Run (data generation is not timed):
{run}

Wall seconds are the median of {repeats} repeat(s), each in a fresh process, timed after
the contender's imports; rows/s = source rows / median wall; CPU s = user + system
seconds of all its threads (median). Peak RSS is the largest VmHWM over the repeats,
imports included.

{results_table(measurements)}

{targets_table(measurements)}

{notes}
"""
