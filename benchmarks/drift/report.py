"""The drift suite's results as markdown: machine, data, timings, targets, agreement."""

from benchmarks.drift.contenders import (
    EVIDENTLY,
    EVIDENTLY_SAME_TESTS,
    FLOOR,
    PLATFORM,
    PLATFORM_REFERENCE,
    SCIPY,
)
from benchmarks.report import (
    Measurement,
    machine_facts,
    median_of,
    ratio_target_row,
    stages_table,
    verdict,
)

EVIDENTLY_SPEEDUP_TARGET = 20.0
FLOOR_RATIO_LIMIT = 2.0


def _find(measurements: list[Measurement], name: str) -> Measurement | None:
    return next((m for m in measurements if m.contender == name), None)


def _ratio(numerator: Measurement | None, denominator: Measurement | None, cpu=False) -> str:
    if not (numerator and denominator):
        return "-"
    if cpu:
        return f"{numerator.cpu / denominator.cpu:.2f}x"
    return f"{numerator.wall / denominator.wall:.2f}x"


def results_table(measurements: list[Measurement]) -> str:
    floor, evidently = _find(measurements, FLOOR), _find(measurements, EVIDENTLY)
    lines = [
        "| contender | repeats | wall s (median) | min-max s | CPU s | peak RSS MiB | imports s "
        "| / floor (wall) | / floor (CPU) | Evidently / this (wall) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for measured in measurements:
        walls = [r["wall_seconds"] for r in measured.repeats]
        lines.append(
            f"| {measured.contender} | {len(measured.repeats)} | {measured.wall:.2f} | "
            f"{min(walls):.2f}-{max(walls):.2f} | {measured.cpu:.1f} | "
            f"{measured.peak_rss_mib:,.0f} | {median_of(measured, 'import_seconds'):.1f} | "
            f"{_ratio(measured, floor)} | {_ratio(measured, floor, cpu=True)} | "
            f"{_ratio(evidently, measured)} |"
        )
    return "\n".join(lines)


def targets_table(measurements: list[Measurement]) -> str:
    platform, floor = _find(measurements, PLATFORM), _find(measurements, FLOOR)
    evidently = _find(measurements, EVIDENTLY)
    lines = [
        "| target (from the issue) | measured (wall) | verdict | same, CPU s |",
        "|---|--:|---|--:|",
    ]
    if platform and evidently:
        lines.append(
            ratio_target_row(
                f"platform at least {EVIDENTLY_SPEEDUP_TARGET:.0f}x faster than Evidently's "
                "report (Evidently / platform)",
                evidently,
                platform,
                at_least=EVIDENTLY_SPEEDUP_TARGET,
                digits=1,
            )
        )
    if platform and floor:
        lines.append(
            ratio_target_row(
                f"platform within {FLOOR_RATIO_LIMIT:.0f}x of the numpy floor, reference stored "
                "(platform / floor)",
                platform,
                floor,
                at_most=FLOOR_RATIO_LIMIT,
            )
        )
    agreement = (platform.counts.get("agreement") or {}) if platform else {}
    if agreement:
        lines.append(
            f"| KS statistics, p-values and the other metrics equal to scipy's to 1e-9 | "
            f"largest relative difference {max(agreement['largest'].values()):.1e} | "
            f"{verdict(agreement['agrees'])} | - |"
        )
    else:
        lines.append("| metrics equal to scipy's to 1e-9 | not checked (--no-verify) | - | - |")
    return "\n".join(lines)


def agreement_lines(measurements: list[Measurement]) -> str:
    lines = []
    for name in (PLATFORM, FLOOR):
        measured = _find(measurements, name)
        if measured and measured.counts.get("agreement"):
            lines.append(f"- {name}: {measured.counts['agreement']['summary']}.")
    for name in (EVIDENTLY, EVIDENTLY_SAME_TESTS):
        measured = _find(measurements, name)
        if measured and measured.counts.get("evidently_agreement"):
            lines.append(f"- {name} (Evidently {measured.counts['evidently']}):")
            lines += [
                f"  - `{method}`: {found}"
                for method, found in measured.counts["evidently_agreement"].items()
            ]
    return "\n".join(lines) or "- not checked (--no-verify)"


def flag_lines(measurements: list[Measurement]) -> str:
    lines = []
    for measured in measurements:
        for judged_by, found in (measured.counts.get("flags") or {}).items():
            lines.append(f"- {measured.contender}, {judged_by}: {found}")
    return "\n".join(lines) or "- not checked (--no-verify)"


def markdown(
    measurements: list[Measurement], repeats: int, run_facts: list[tuple[str, str]]
) -> str:
    facts = "\n".join(f"- {name}: {value}" for name, value in machine_facts())
    run = "\n".join(f"- {name}: {value}" for name, value in run_facts)
    return f"""# Drift benchmark: one day's drift report against a stored reference

Machine:
{facts}

Run (data generation, the stored statistics and bins and the agreement check are not timed):
{run}

Wall seconds are the median of the repeats (each in a fresh process, timed after the
contender's imports, from reading its inputs to the metrics in memory); CPU s = user + system
seconds of all its threads (median); peak RSS = the largest VmHWM over the repeats, imports
included. "{PLATFORM_REFERENCE}" is what the first report after a new champion adds; the
targets are judged on "{PLATFORM}" (every other day). {repeats} repeat(s) per contender,
except those measured once (the repeats column).

{results_table(measurements)}

{targets_table(measurements)}

Stages (median wall s):

{stages_table(measurements)}

Agreement (before timing; the scipy loop "{SCIPY}" is the oracle):
{agreement_lines(measurements)}

Columns flagged, against the generator's truth:
{flag_lines(measurements)}
"""
