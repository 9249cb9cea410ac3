"""The training suite's results as markdown: machine, data, one table per size, targets."""

from benchmarks.report import (
    Measurement,
    machine_facts,
    median_of,
    ratio_target_row,
    stages_table,
    verdict,
)
from benchmarks.training_set.contenders import FILE_STORE, FLOOR, PLATFORM

FLOOR_RATIO_LIMIT = 1.5
FILE_STORE_SPEEDUP_TARGET = 10.0


def _find(measurements: list[Measurement], name: str, rows: int) -> Measurement | None:
    return next((m for m in measurements if m.contender == name and m.rows == rows), None)


def results_table(measurements: list[Measurement]) -> str:
    lines = [
        "| contender | entity rows | rows given | rows out | wall s (median) | min-max s "
        "| CPU s | peak RSS MiB | imports s | / floor (wall) | / floor (CPU) "
        "| file store / this | agreement with the floor |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for measured in measurements:
        floor = _find(measurements, FLOOR, measured.rows)
        files = _find(measurements, FILE_STORE, measured.rows)
        walls = [r["wall_seconds"] for r in measured.repeats]
        counts = measured.counts
        agreement = (counts.get("agreement") or {}).get("summary", "not checked")
        given = counts.get("entity_rows", measured.rows)
        lines.append(
            f"| {measured.contender} | {measured.rows:,} | {given:,} | "
            f"{counts['output_rows']:,} | {measured.wall:.2f} | "
            f"{min(walls):.2f}-{max(walls):.2f} | {measured.cpu:.1f} | "
            f"{measured.peak_rss_mib:,.0f} | {median_of(measured, 'import_seconds'):.1f} | "
            + (f"{measured.wall / floor.wall:.2f}x | " if floor else "- | ")
            + (f"{measured.cpu / floor.cpu:.2f}x | " if floor else "- | ")
            + (f"{files.wall / measured.wall:.1f}x | " if files else "- | ")
            + f"{agreement} |"
        )
    return "\n".join(lines)


def targets_table(measurements: list[Measurement]) -> str:
    lines = [
        "| target (from the issue) | entity rows | measured (wall) | verdict | same, CPU s |",
        "|---|--:|--:|---|--:|",
    ]
    for rows in sorted({m.rows for m in measurements}, reverse=True):
        platform = _find(measurements, PLATFORM, rows)
        floor = _find(measurements, FLOOR, rows)
        files = _find(measurements, FILE_STORE, rows)
        if platform and floor:
            lines.append(
                ratio_target_row(
                    f"platform within {FLOOR_RATIO_LIMIT}x of the floor",
                    platform,
                    floor,
                    at_most=FLOOR_RATIO_LIMIT,
                    size=rows,
                )
            )
        if platform and files:
            lines.append(
                ratio_target_row(
                    f"platform at least {FILE_STORE_SPEEDUP_TARGET:.0f}x faster than the file "
                    "store",
                    files,
                    platform,
                    at_least=FILE_STORE_SPEEDUP_TARGET,
                    size=rows,
                    digits=1,
                )
            )
        if platform:
            agreement = platform.counts.get("agreement") or {}
            kept = platform.counts["output_rows"] == platform.counts["entity_rows"] and (
                agreement.get("agrees", False)
            )
            lines.append(
                f"| every row kept (platform) | {rows:,} | "
                f"{platform.counts['output_rows']:,} of {platform.counts['entity_rows']:,}"
                f"{', equal to the floor' if agreement.get('agrees') else ''} | "
                f"{verdict(kept)} | - |"
            )
            lines.append(
                f"| peak memory reported (platform) | {rows:,} | "
                f"{platform.peak_rss_mib:,.0f} MiB | reported | - |"
            )
    return "\n".join(lines)


def markdown(
    measurements: list[Measurement], repeats: int, run_facts: list[tuple[str, str]]
) -> str:
    facts = "\n".join(f"- {name}: {value}" for name, value in machine_facts())
    run = "\n".join(f"- {name}: {value}" for name, value in run_facts)
    return f"""# Training-set benchmark: point-in-time join of fraud_model_v2

Machine:
{facts}

Run (data generation, `feast apply` and the agreement check are not timed):
{run}

Wall seconds are the median of {repeats} repeat(s), each in a fresh process, timed after the
contender's imports, from opening the store and reading the labelled rows to the typed,
sorted training set in memory; CPU s = user + system seconds of all its threads (median);
peak RSS = the largest VmHWM over the repeats, imports included. "rows given" is what the
contender was handed (the file store gets the rows it can process, see
benchmarks/training_set/file_store.py).

{results_table(measurements)}

{targets_table(measurements)}

{stages_table(measurements, with_rows="entity rows")}
"""
