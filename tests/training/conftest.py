"""A Feast store on the real definitions of feature_repo/ over small random Delta tables."""

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import write_deltalake

from platform_assets.environment import platform_settings
from platform_assets.feature_store.registry import apply_definitions, load_definitions
from platform_assets.feature_store.repo import FEATURE_REPO, FeastResource
from tests.training.synthetic_features import SyntheticFeatureStore, random_feature_rows


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory) -> SyntheticFeatureStore:
    """Version 0 of each table holds `tables`; version 1 replaces every count by count + 1000,
    so a read that is not pinned to version 0 shows."""
    root = tmp_path_factory.mktemp("synthetic_features")
    rng = random.Random(20240110)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLATFORM_ENV", "local")
        env.setenv("PLATFORM_DATA_DIR", str(root))
        env.delenv("PLATFORM_LAKE_URI", raising=False)
        lake_root = platform_settings().lake_root
        tables = {
            "user_features": random_feature_rows("user_features", [f"u{n}" for n in range(8)], rng),
            "merchant_features": random_feature_rows(
                "merchant_features", [f"m{n}" for n in range(4)], rng
            ),
        }
        for view, rows in tables.items():
            uri = f"{lake_root}/features/{view}"
            write_deltalake(uri, rows, partition_by=["event_date"])
            write_deltalake(
                uri, _shifted_counts(rows), mode="overwrite", partition_by=["event_date"]
            )
        feast = FeastResource(state_dir=str(root / "feast"))
        store = feast.store()
        apply_definitions(store, load_definitions(FEATURE_REPO))
        yield SyntheticFeatureStore(store=store, lake_root=lake_root, tables=tables)


def _shifted_counts(rows: pa.Table) -> pa.Table:
    for index, field in enumerate(rows.schema):
        if "count" in field.name:
            rows = rows.set_column(index, field, pc.add(rows[field.name], 1000))
    return rows
