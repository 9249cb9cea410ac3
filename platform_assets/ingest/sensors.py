"""Sensor: new, changed or removed landing files -> runs for exactly the affected partitions.

The cursor remembers each file's size, mtime and content hash. A file is hashed only when
its size or mtime moved, and a run is requested only when some content really changed.
The run key is derived from the contents, so the same content is never ingested twice.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from dagster import RunRequest, SensorEvaluationContext, SkipReason, sensor

from platform_assets.ingest.sources import PARTITIONED_SOURCES, REFERENCE_SOURCES, LandingSource
from platform_assets.jobs import daily_lake_job, lake_keys, reference_lake_job
from platform_assets.partitions import daily_partitions
from platform_assets.resources import LandingResource, visible_files

# relative path -> [size, mtime_ns, sha256]
FileState = dict[str, list]


@dataclass(frozen=True)
class PlannedRun:
    source: LandingSource
    partition_key: str | None
    run_key: str
    changed_files: tuple[str, ...]


def scan_landing(root: Path) -> dict[tuple[str, str | None], list[Path]]:
    """Landing files grouped by (source name, partition key or None for snapshots)."""
    groups: dict[tuple[str, str | None], list[Path]] = {}
    for source in PARTITIONED_SOURCES:
        source_dir = root / source.name
        if not source_dir.is_dir():
            continue
        for day_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
            if not day_dir.name.startswith(("_", ".")):
                groups[(source.name, day_dir.name)] = visible_files(day_dir)
    for source in REFERENCE_SOURCES:
        groups[(source.name, None)] = visible_files(root / "reference" / source.name)
    return groups


def plan_runs(root: Path, previous: FileState) -> tuple[list[PlannedRun], FileState]:
    """Runs to request for what changed since `previous`, and the new cursor state."""
    sources = {source.name: source for source in (*PARTITIONED_SOURCES, *REFERENCE_SOURCES)}
    current: FileState = {}
    runs: list[PlannedRun] = []
    seen_groups = scan_landing(root)
    previous_groups = {_group_of(path) for path in previous}
    for group in sorted(set(seen_groups) | previous_groups, key=str):
        source_name, partition_key = group
        changes: list[str] = []
        for path in seen_groups.get(group, []):
            name = path.relative_to(root).as_posix()
            stat = path.stat()
            old = previous.get(name)
            if old and old[0] == stat.st_size and old[1] == stat.st_mtime_ns:
                digest = old[2]
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            current[name] = [stat.st_size, stat.st_mtime_ns, digest]
            if not old or old[2] != digest:
                changes.append(f"{name}={digest}")
        removed = [
            f"{name}=removed"
            for name in previous
            if _group_of(name) == group and name not in current
        ]
        changes.extend(removed)
        if not changes:
            continue
        if partition_key is not None and not _is_partition(partition_key):
            # Not a partition (yet): forget these files so a later tick looks again.
            for path in seen_groups.get(group, []):
                current.pop(path.relative_to(root).as_posix(), None)
            continue
        fingerprint = hashlib.sha256("\n".join(sorted(changes)).encode()).hexdigest()[:16]
        runs.append(
            PlannedRun(
                source=sources[source_name],
                partition_key=partition_key,
                run_key=f"{source_name}/{partition_key or 'snapshot'}/{fingerprint}",
                changed_files=tuple(change.split("=")[0] for change in sorted(changes)),
            )
        )
    return runs, current


def _group_of(relative_name: str) -> tuple[str, str | None]:
    parts = relative_name.split("/")
    if parts[0] == "reference":
        return parts[1], None
    return parts[0], parts[1]


def _is_partition(partition_key: str) -> bool:
    try:
        return daily_partitions.has_partition_key(partition_key)
    except ValueError:
        return False


@sensor(
    name="landing_files_sensor",
    jobs=[daily_lake_job, reference_lake_job],
    minimum_interval_seconds=30,
    description="Requests bronze+silver runs for the partitions whose landing files changed.",
)
def landing_files_sensor(context: SensorEvaluationContext, landing: LandingResource):
    previous: FileState = json.loads(context.cursor) if context.cursor else {}
    runs, current = plan_runs(Path(landing.root), previous)
    for run in runs:
        context.log.info(f"{run.run_key}: {len(run.changed_files)} changed file(s)")
        yield RunRequest(
            run_key=run.run_key,
            job_name=(daily_lake_job if run.source.partitioned else reference_lake_job).name,
            partition_key=run.partition_key,
            asset_selection=lake_keys(run.source),
            tags={"landing/changed_files": str(len(run.changed_files))},
        )
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not runs:
        yield SkipReason("no landing file changed")
