"""Materialize the real asset graph on generated data, in a temp DAGSTER_HOME."""

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


@pytest.fixture(scope="session")
def materialized_lake(tmp_path_factory) -> MaterializedLake:
    root = tmp_path_factory.mktemp("platform")
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
                days=DAYS,
                rows_per_day=400,
                seed=11,
                defects=True,
            )
        )
        defs = build_definitions(settings)
        home = root / "dagster_home"
        home.mkdir()
        with instance_for_test(temp_dir=str(home)) as instance:
            lake = materialized = MaterializedLake(
                root=root,
                truth=truth,
                defs=defs,
                instance=instance,
                lake=LakeResource(root=settings.lake_root),
                days=[(FIRST_DAY + timedelta(days=n)).isoformat() for n in range(DAYS)],
            )
            reference = defs.resolve_job_def("reference_lake_job")
            assert reference.execute_in_process(instance=instance).success
            for day in lake.days:
                assert materialized.run_day(day).success
            assert materialized.run_features(lake.days[0], lake.days[-1]).success
            yield materialized
