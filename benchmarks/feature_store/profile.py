"""Where a push spends its time: one push contender under cProfile, by Feast's stages.

    python -m benchmarks.feature_store.profile                       # plain Feast, sqlite
    python -m benchmarks.feature_store.profile --contender "bulk store + engine: sqlite"
    python -m benchmarks.feature_store.profile --users 100000 --top 30

The repo is set up first (not profiled), then the push runs under cProfile, with each
stage of Feast's materialization plan timed by a wrapper. Printed: the stages, then the
top functions by own time; written to benchmarks/results/profile-online-<contender>-
<users>.txt, the raw profile to the same name with .prof. cProfile's per-call overhead
inflates Python loops (the stock stores' per-row work most): compare shares, not seconds,
with `benchmarks.run --suite online`.
"""

import argparse
import cProfile
import io
import pstats
import re
import tempfile
import time
from collections import defaultdict
from functools import wraps
from pathlib import Path

from feast.infra.compute_engines.local import nodes
from feast.infra.online_stores.redis import RedisOnlineStore
from feast.infra.online_stores.sqlite import SqliteOnlineStore

from benchmarks.feature_store import contenders, data, push
from benchmarks.feature_store.repo import VIEW, day_bounds
from benchmarks.workspace import DEFAULT_WORK_DIR, RESULTS_DIR
from platform_assets.feature_store.online_stores import engine
from platform_assets.feature_store.online_stores import redis as bulk_redis
from platform_assets.feature_store.online_stores import sqlite as bulk_sqlite

# (label, owner, attribute). Stages run one after the other; a label starting with "of
# which" is part of the stage above it.
STAGES = [
    ("offline pull (DuckDB offline store)", nodes.LocalSourceReadNode, "execute"),
    ("join, filter and validation nodes", nodes.LocalJoinNode, "execute"),
    ("join, filter and validation nodes", nodes.LocalFilterNode, "execute"),
    ("join, filter and validation nodes", nodes.LocalValidationNode, "execute"),
    ("latest row per entity (dedup node, pandas)", nodes.LocalDedupNode, "execute"),
    ("latest row per entity (dedup node, Arrow)", engine.ArrowDedupNode, "execute"),
    ("output node: convert and write", nodes.LocalOutputNode, "execute"),
    ("output node: convert and write", engine.ArrowOutputNode, "execute"),
    ("of which Arrow -> ValueProto (_convert_arrow_to_proto)", nodes, "_convert_arrow_to_proto"),
    ("of which the store's online_write_batch", SqliteOnlineStore, "online_write_batch"),
    ("of which the store's online_write_batch", RedisOnlineStore, "online_write_batch"),
    ("of which column-wise encoding", bulk_sqlite, "encode_table"),
    ("of which the SQLite upsert", bulk_sqlite.BulkSqliteOnlineStore, "write_rows"),
    ("of which Redis commands built and sent", bulk_redis.BulkRedisOnlineStore, "write_columns"),
]
PUSHES = [
    contenders.PLAIN_SQLITE,
    contenders.BULK_SQLITE,
    contenders.PLAIN_REDIS,
    contenders.BULK_REDIS,
]


def _timed_stages(seconds: dict[str, float]) -> None:
    """Wrap every stage so its wall seconds add up in `seconds` (this process only)."""
    for label, owner, attribute in STAGES:
        original = getattr(owner, attribute)
        if getattr(original, "__wrapped__", None):
            original = original.__wrapped__

        def timed(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                seconds[_label] += time.perf_counter() - started

        setattr(owner, attribute, wraps(original)(timed))


def stage_table(seconds: dict[str, float], total: float) -> str:
    lines = ["| stage | s (cProfile) | share |", "|---|--:|--:|"]
    for label in dict.fromkeys(label for label, _, _ in STAGES):
        if seconds.get(label):
            lines.append(f"| {label} | {seconds[label]:.2f} | {seconds[label] / total:.0%} |")
    outside = total - sum(s for label, s in seconds.items() if not label.startswith("of which"))
    lines.append(
        f"| everything else: registry, plan, Feast's bookkeeping | {outside:.2f} "
        f"| {outside / total:.0%} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contender", choices=PUSHES, default=contenders.PLAIN_SQLITE)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    args = parser.parse_args()

    source = data.feature_source(args.work_dir, args.users, args.seed)
    seconds: dict[str, float] = defaultdict(float)
    _timed_stages(seconds)
    with tempfile.TemporaryDirectory(dir=args.work_dir) as out:
        feature_store = push.prepare(Path(out), source, args.contender)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.runcall(feature_store.materialize, *day_bounds(data.DAY), feature_views=[VIEW])
        total = time.perf_counter() - started
        feature_store.teardown()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(args.top)
    report = (
        f"# {args.contender}: push of {args.users:,} users, {total:.1f} s under cProfile\n\n"
        f"{stage_table(seconds, total)}\n\n## Top functions by own time\n\n{text.getvalue()}"
    )
    slug = re.sub(r"[^a-z0-9]+", "-", args.contender.lower()).strip("-")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"profile-online-{slug}-{args.users}"
    path.with_suffix(".txt").write_text(report)
    profile.dump_stats(path.with_suffix(".prof"))
    print(report)


if __name__ == "__main__":
    main()
