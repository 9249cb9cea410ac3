"""The online suite of `benchmarks.run`: push contenders (each repeat into an empty store),
then the agreement check on what the SDK reads back from every pushed store, then the read
contenders on those stores, then the benchmark's Redis keys are deleted."""

import re
import shutil
import sys
from pathlib import Path

from benchmarks.feature_store import contenders, data, push, read, report
from benchmarks.feature_store.repo import delete_redis_keys
from benchmarks.feature_store.verify import require_agreement
from benchmarks.report import Measurement

BASE_USERS = 1_000_000
READ_SIZES = [1, 100]


def store_folder(work_dir: Path, push: str) -> Path:
    return work_dir / "online-stores" / re.sub(r"[^a-z0-9]+", "-", push.lower()).strip("-")


def run(args, run_once, measure) -> tuple[list[Measurement], list[tuple[str, str]], object]:
    users = args.rows or BASE_USERS
    chosen = args.contender or list(contenders.CONTENDERS)
    if unknown := set(chosen) - set(contenders.CONTENDERS):
        raise SystemExit(f"no such online contenders: {sorted(unknown)}")
    pushes = [name for name in contenders.PUSHES if name in chosen]
    reads = [
        name
        for name in contenders.READS
        if name in chosen and contenders.READS_STORE_OF[name] in pushes
    ]
    print(f"preparing {users:,} users (cached)", file=sys.stderr)
    source = data.feature_source(args.work_dir, users, args.seed)
    stores = {name: store_folder(args.work_dir, name) for name in pushes}

    def push_once(name: str, log: Path) -> dict:
        return run_once(name, source, args.work_dir, log, "online", data.DAY, stores[name])

    try:
        measurements = measure(pushes, users, args.repeats, push_once, args.work_dir)
        if not args.no_verify:
            print("checking that the pushed stores agree (untimed)", file=sys.stderr)
            require_agreement(stores, users, args.seed)
        for folder in stores.values():
            read.write_plan(folder, args.requests, READ_SIZES, users, args.seed)

        def request(name: str, log: Path) -> dict:
            folder = stores[contenders.READS_STORE_OF[name]]
            return run_once(name, folder, args.work_dir, log, "online", data.DAY)

        measurements += measure(reads, users, 1, request, args.work_dir)
    finally:
        for name in stores:
            if contenders.KIND[name] == "redis":
                delete_redis_keys(push.project(name))
        shutil.rmtree(args.work_dir / "online-stores", ignore_errors=True)
    return measurements, data.describe(source), report.markdown
