"""Materialize the real asset graph on generated data, in a temp DAGSTER_HOME."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions, instance_for_test
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from fraud_generator import GeneratorConfig, GroundTruth, generate
from platform_assets.definitions import build_definitions
from platform_assets.environment import platform_settings
from platform_assets.resources import LakeResource
from tests.conftest import TEST_KEY

FIRST_DAY = date(2024, 1, 1)
# Enough days for a 10-day feature backfill on top of a week of history.
DAYS = 12


@dataclass
class MaterializedLake:
    root: Path
    truth: GroundTruth
    defs: Definitions
    instance: DagsterInstance
    lake: LakeResource
    days: list[str]

    def run_day(self, day: str):
        job = self.defs.resolve_job_def("daily_lake_job")
        return job.execute_in_process(partition_key=day, instance=self.instance)

    def run_features(self, first: str, last: str):
        """One run over the partition range, as a single-run backfill launches it."""
        job = self.defs.resolve_job_def("daily_features_job")
        return job.execute_in_process(
            instance=self.instance,
            tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        )


@contextmanager
def build_materialized_lake(
    root: Path, *, days: int, rows_per_day: int, seed: int, **generator_options
) -> Iterator[MaterializedLake]:
    """A local-profile platform in `root` (landing, lake, Feast state, MLflow store, Dagster
    instance) on `days` generated days from FIRST_DAY: reference tables, every day's lake
    tables, and the feature tables as one range run. The environment points at `root` until
    the context exits (Feast's sources read the lake's location from it)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLATFORM_ENV", "local")
        env.setenv("PLATFORM_DATA_DIR", str(root))
        env.delenv("PLATFORM_LANDING_ROOT", raising=False)
        env.delenv("PLATFORM_LAKE_URI", raising=False)
        env.setenv("CARD_TOKEN_KEY", TEST_KEY)
        settings = platform_settings()
        truth = generate(
            GeneratorConfig(
                out_dir=settings.landing_root,
                start=FIRST_DAY,
                days=days,
                rows_per_day=rows_per_day,
                seed=seed,
                **generator_options,
            )
        )
        defs = build_definitions(settings)
        home = root / "dagster_home"
        home.mkdir()
        with instance_for_test(temp_dir=str(home)) as instance:
            materialized = MaterializedLake(
                root=root,
                truth=truth,
                defs=defs,
                instance=instance,
                lake=LakeResource(root=settings.lake_root),
                days=[(FIRST_DAY + timedelta(days=n)).isoformat() for n in range(days)],
            )
            reference = defs.resolve_job_def("reference_lake_job")
            assert reference.execute_in_process(instance=instance).success
            for day in materialized.days:
                assert materialized.run_day(day).success
            assert materialized.run_features(materialized.days[0], materialized.days[-1]).success
            yield materialized


@pytest.fixture(scope="session")
def materialized_lake(tmp_path_factory) -> Iterator[MaterializedLake]:
    with build_materialized_lake(
        tmp_path_factory.mktemp("platform"), days=DAYS, rows_per_day=400, seed=11, defects=True
    ) as materialized:
        yield materialized
