"""The online benchmark's results as markdown: machine facts, the push and read tables, and
the issue's targets, judged on what was measured."""

import statistics

from benchmarks.feature_store import contenders as names
from benchmarks.report import Measurement, machine_facts, verdict

PLAIN_SPEEDUP_TARGET = 10.0
USERS_PER_SECOND_TARGET = 70_000
FLOOR_RATIO_LIMIT = 1.5
READ_P99_LIMITS_MS = {"1": 1.0, "100": 3.0}


def _push_seconds(measured: Measurement) -> float:
    return statistics.median(repeat["counts"]["push_seconds"] for repeat in measured.repeats)


def _users(measured: Measurement) -> int:
    return measured.counts["users"]


def push_table(pushes: dict[str, Measurement]) -> str:
    lines = [
        "| contender | users | push s (median) | min-max s | users/s | plain Feast / this "
        "| this / floor | process CPU s | peak RSS MiB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, measured in pushes.items():
        seconds = [repeat["counts"]["push_seconds"] for repeat in measured.repeats]
        kind = names.KIND[name]
        plain = pushes.get(names.PLAIN_SQLITE if kind == "sqlite" else names.PLAIN_REDIS)
        floor = pushes.get(names.FLOOR_SQLITE if kind == "sqlite" else names.FLOOR_REDIS)
        lines.append(
            f"| {name} | {_users(measured):,} | {_push_seconds(measured):.2f} "
            f"| {min(seconds):.2f}-{max(seconds):.2f} "
            f"| {_users(measured) / _push_seconds(measured):,.0f} "
            f"| {_ratio(plain, measured)} | {_ratio(measured, floor)} "
            f"| {measured.cpu:.1f} | {measured.peak_rss_mib:,.0f} |"
        )
    return "\n".join(lines)


def _ratio(numerator: Measurement | None, denominator: Measurement | None) -> str:
    if numerator is None or denominator is None:
        return "-"
    return f"{_push_seconds(numerator) / _push_seconds(denominator):.2f}x"


def read_table(reads: dict[str, Measurement]) -> str:
    lines = [
        "| contender | users/request | requests | p50 ms | p99 ms | mean ms | max ms "
        "| with to_dict(): p50 ms | p99 ms | peak RSS MiB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, measured in reads.items():
        for size, latency in measured.counts["reads"].items():
            converted = latency.get("with_to_dict")
            both = (
                f"{converted['p50_ms']:.3f} | {converted['p99_ms']:.3f}" if converted else "- | -"
            )
            lines.append(
                f"| {name} | {size} | {latency['requests']:,} | {latency['p50_ms']:.3f} "
                f"| {latency['p99_ms']:.3f} | {latency['mean_ms']:.3f} | {latency['max_ms']:.2f} "
                f"| {both} | {measured.peak_rss_mib:,.0f} |"
            )
    return "\n".join(lines)


def targets_table(pushes: dict[str, Measurement], reads: dict[str, Measurement]) -> str:
    lines = ["| target (from the issue) | measured | verdict |", "|---|--:|---|"]
    bulk, plain = pushes.get(names.BULK_SQLITE), pushes.get(names.PLAIN_SQLITE)
    if bulk and plain:
        speedup = _push_seconds(plain) / _push_seconds(bulk)
        lines.append(
            f"| SQLite push at least {PLAIN_SPEEDUP_TARGET:.0f}x plain Feast "
            f"| {speedup:.1f}x | {verdict(speedup >= PLAIN_SPEEDUP_TARGET)} |"
        )
    if bulk:
        rate = _users(bulk) / _push_seconds(bulk)
        lines.append(
            f"| SQLite push at least {USERS_PER_SECOND_TARGET:,} users/s "
            f"| {rate:,.0f} | {verdict(rate >= USERS_PER_SECOND_TARGET)} |"
        )
    bulk_redis, floor = pushes.get(names.BULK_REDIS), pushes.get(names.FLOOR_REDIS)
    if bulk_redis and floor:
        ratio = _push_seconds(bulk_redis) / _push_seconds(floor)
        lines.append(
            f"| Redis push within {FLOOR_RATIO_LIMIT}x of the pipelined floor (this / floor) "
            f"| {ratio:.2f}x | {verdict(ratio <= FLOOR_RATIO_LIMIT)} |"
        )
    if sdk := reads.get(names.READ_BULK_SQLITE):
        for size, limit in READ_P99_LIMITS_MS.items():
            if size in sdk.counts["reads"]:
                p99 = sdk.counts["reads"][size]["p99_ms"]
                lines.append(
                    f"| SQLite SDK read p99 at most {limit:g} ms, {size} user(s)/request "
                    f"| {p99:.3f} ms | {verdict(p99 <= limit)} |"
                )
    return "\n".join(lines)


def markdown(
    measurements: list[Measurement], repeats: int, run_facts: list[tuple[str, str]]
) -> str:
    pushes = {m.contender: m for m in measurements if m.contender in names.PUSHES}
    reads = {m.contender: m for m in measurements if m.contender in names.READS}
    facts = "\n".join(f"- {name}: {value}" for name, value in machine_facts())
    run = "\n".join(f"- {name}: {value}" for name, value in run_facts)
    return f"""# Online benchmark: push one day of features, read them back

Machine:
{facts}

Run (data generation, repo set-up and the agreement check are not timed):
{run}

Push: push s is the median over {repeats} repeat(s), each in a fresh process into an empty
store, of the push alone (repo set-up excluded); users/s = users / push s. Process CPU s
(median) and peak RSS (largest VmHWM over the repeats) are the contender's whole process,
imports excluded from CPU, included in RSS.

{push_table(pushes)}

Read: one process per contender, each request timed alone after 50 untimed ones; the
floors' keys are serialized before the clock starts.

{read_table(reads)}

{targets_table(pushes, reads)}
"""
