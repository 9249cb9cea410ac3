"""The feature benchmark's results as markdown: machine facts, the measured table with each
contender's ratios to the floor and to pandas, the issue's targets, and the stages."""

import statistics

from benchmarks.features.contenders import FLOOR, PANDAS, PLATFORM, PLATFORM_FUNCTIONS
from benchmarks.report import Measurement, machine_facts, ratio_target_row

FLOOR_RATIO_LIMIT = 1.5
PANDAS_SPEEDUP_TARGET = 5.0


def _found(measurements: list[Measurement]) -> dict[str, Measurement]:
    return {m.contender: m for m in measurements}


def results_table(measurements: list[Measurement]) -> str:
    found = _found(measurements)
    floor, pandas = found.get(FLOOR), found.get(PANDAS)
    lines = [
        "| contender | wall s (median) | min-max s | feature rows/s | CPU s | peak RSS MiB "
        "| RSS after imports MiB | imports s | / floor | pandas / this |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for measured in measurements:
        walls = [repeat["wall_seconds"] for repeat in measured.repeats]
        lines.append(
            f"| {measured.contender} | {measured.wall:.2f} | {min(walls):.2f}-{max(walls):.2f} "
            f"| {measured.rows_per_second:,.0f} | {measured.cpu:.1f} "
            f"| {measured.peak_rss_mib:,.0f} "
            f"| {max(r['rss_after_imports_mib'] for r in measured.repeats):,.0f} "
            f"| {statistics.median(r['import_seconds'] for r in measured.repeats):.1f} "
            f"| {_ratio(measured.wall, floor)} "
            f"| {_ratio(pandas.wall if pandas else None, measured)} |"
        )
    return "\n".join(lines)


def _ratio(numerator: float | None, measured: Measurement | None) -> str:
    if numerator is None or measured is None:
        return "-"
    return f"{numerator / measured.wall:.2f}x"


def stages_table(measurements: list[Measurement]) -> str:
    """Median wall seconds of each contender's stages, as it timed them itself."""
    lines = ["| contender | stages, median wall s |", "|---|---|"]
    for measured in measurements:
        stages = [repeat["counts"].get("stages") or {} for repeat in measured.repeats]
        if not stages[0]:
            continue
        parts = ", ".join(
            f"{name} {statistics.median(s[name] for s in stages):.2f}" for name in stages[0]
        )
        lines.append(f"| {measured.contender} | {parts} |")
    return "\n".join(lines)


def targets_table(measurements: list[Measurement]) -> str:
    found = _found(measurements)
    platform, floor, pandas = found.get(PLATFORM), found.get(FLOOR), found.get(PANDAS)
    lines = [
        "| target (from the issue) | measured (wall) | verdict | same ratio, CPU s |",
        "|---|--:|---|--:|",
    ]
    if platform and floor:
        lines.append(
            ratio_target_row(
                f"platform within {FLOOR_RATIO_LIMIT}x of the floor (platform / floor)",
                platform,
                floor,
                at_most=FLOOR_RATIO_LIMIT,
            )
        )
    if platform and pandas:
        lines.append(
            ratio_target_row(
                f"platform at least {PANDAS_SPEEDUP_TARGET:.0f}x faster than (a) "
                "(pandas / platform)",
                pandas,
                platform,
                at_least=PANDAS_SPEEDUP_TARGET,
            )
        )
    if len(lines) == 2:
        lines.append(f"| (not judged: `{PLATFORM}` was not measured in this run) | | | |")
    return "\n".join(lines)


def notes(measurements: list[Measurement]) -> list[str]:
    found = _found(measurements)
    asset, functions = found.get(PLATFORM), found.get(PLATFORM_FUNCTIONS)
    lines = []
    if asset and functions:
        difference = asset.wall - functions.wall
        noise = max(asset.spread, functions.spread)
        verdict = "within" if abs(difference) <= noise else "beyond"
        lines.append(
            f"The Dagster asset minus the same steps without Dagster: {difference:+.2f} s wall "
            f"({difference / functions.wall:+.0%}); {verdict} the repeats' spread "
            f"({noise:.2f} s)."
        )
    return lines


def markdown(
    measurements: list[Measurement], repeats: int, run_facts: list[tuple[str, str]]
) -> str:
    facts = "\n".join(f"- {name}: {value}" for name, value in machine_facts())
    run = "\n".join(f"- {name}: {value}" for name, value in run_facts)
    extra = "\n".join(f"- {note}" for note in notes(measurements))
    return f"""# Feature benchmark: one day's `features/user_features` partition

Machine:
{facts}

Run (data generation and the agreement check are not timed):
{run}

Wall seconds are the median of {repeats} repeat(s), each in a fresh process, timed after
the contender's imports, from reading silver to the committed Delta partition; feature
rows/s = the day's feature rows / median wall; CPU s = user + system seconds of all its
threads (median); peak RSS = the largest VmHWM over the repeats, imports included.

{results_table(measurements)}

{targets_table(measurements)}

{stages_table(measurements)}

{extra}
"""
