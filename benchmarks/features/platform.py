"""The platform's own path for one user-feature partition: silver -> features/user_features.

`run_dagster_asset` is what runs in production: the `daily_features_job` of the platform's
definitions, restricted to `features/user_features`, executed in process on an ephemeral
instance for one partition (read the 8 days of silver from Delta, each part with the
columns it needs, `compute_user_features`, the Pandera schema and the point-in-time check,
the partition commit, metadata and checks). `run_functions` calls the same steps as the
asset body without Dagster, and times each.

The contender's lake is `<out>/lake`; its `silver` folder is a symlink to the cached silver
tables, so the platform reads them where it expects them and writes only under `out`.
"""

from datetime import date
from pathlib import Path

from dagster import DagsterInstance

from benchmarks.features.output import Stopwatch, counts
from platform_assets.definitions import build_definitions
from platform_assets.environment import PlatformSettings
from platform_assets.features.assets import (
    FEATURE_PARTITION_COLUMN,
    USER_FEATURES,
    _read_input,
    validate,
)
from platform_assets.resources import platform_resources
from platform_assets.tables import table_path


def _settings(lake: Path, out: Path) -> PlatformSettings:
    root = out / "lake"
    root.mkdir(parents=True, exist_ok=True)
    (root / "silver").symlink_to(lake / "silver", target_is_directory=True)
    return PlatformSettings("local", landing_root=out / "landing", lake_root=str(root))


def run_dagster_asset(lake: Path, day: date, out: Path) -> dict:
    job = build_definitions(_settings(lake, out)).resolve_job_def("daily_features_job")
    result = job.execute_in_process(
        partition_key=day.isoformat(),
        instance=DagsterInstance.ephemeral(),
        asset_selection=[USER_FEATURES.key],
    )
    if not result.success:
        raise RuntimeError("the user features materialization failed")
    node = USER_FEATURES.key.to_python_identifier()
    (materialization,) = result.asset_materializations_for_node(node)
    return {"source_rows": materialization.metadata["rows_in_run"].value}


def run_functions(lake: Path, day: date, out: Path) -> dict:
    """The asset body for one day, step by step, with each step's wall seconds."""
    resource = platform_resources(_settings(lake, out))["lake"]
    watch = Stopwatch()
    inputs = [_read_input(resource, read) for read in USER_FEATURES.reads(day, day)]
    watch.lap("read")
    rows = USER_FEATURES.compute(inputs, day)
    watch.lap("compute")
    problems, violations = validate(USER_FEATURES, rows)
    if problems or any(violations.values()):
        raise RuntimeError(f"validation failed: {problems or violations}")
    watch.lap("validate")
    resource.replace_partitions(
        table_path(USER_FEATURES.key), rows, FEATURE_PARTITION_COLUMN, day, day
    )
    watch.lap("write")
    return counts(rows.num_rows, watch)
