"""Oracle for the online store: each entity's latest row in the Delta feature table, read
with pandas, against what the Feast SDK serves."""

import math
from datetime import date

import pandas as pd

from platform_assets.features.assets import MERCHANT_FEATURES, USER_FEATURES, FeatureTable
from platform_assets.features.compute import MERCHANT_FEATURE_COLUMNS, USER_FEATURE_COLUMNS
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path

FEATURES_OF = {
    USER_FEATURES.name: USER_FEATURE_COLUMNS,
    MERCHANT_FEATURES.name: MERCHANT_FEATURE_COLUMNS,
}


def latest_offline(
    lake: LakeResource, table: FeatureTable, last_day: date | None = None
) -> pd.DataFrame:
    """Each entity's latest row (up to `last_day`), by event time then ingestion time
    (Feast's order); entities whose latest two rows tie on both are left out, as their
    online value is either row."""
    rows = lake.read(table_path(table.key)).to_pandas()
    if last_day is not None:
        rows = rows[rows["event_date"] <= last_day]
    order = [table.entity, "event_timestamp", "created_timestamp"]
    rows = rows.sort_values(order)
    latest = rows.groupby(table.entity).tail(1).set_index(table.entity)
    tied = rows.loc[rows.duplicated(order, keep=False), table.entity].unique()
    return latest.drop(index=tied, errors="ignore")


def online_values(store, table: FeatureTable, entities: list[str]) -> pd.DataFrame:
    features = [f"{table.name}:{name}" for name in FEATURES_OF[table.name]]
    response = store.get_online_features(
        features=features, entity_rows=[{table.entity: entity} for entity in entities]
    ).to_df()
    return response.set_index(table.entity)


def assert_serves_latest(store, lake: LakeResource, table: FeatureTable) -> int:
    """Every feature of every (untied) entity online equals its latest offline value;
    returns how many values were compared."""
    offline = latest_offline(lake, table)
    online = online_values(store, table, list(offline.index))
    columns = FEATURES_OF[table.name]
    mismatches = [
        entity
        for entity, expected in offline.iterrows()
        if not same_values(online.loc[entity], expected, columns)
    ]
    assert not mismatches, [(entity, online.loc[entity]) for entity in mismatches[:5]]
    return len(offline) * len(columns)


def same_values(got: pd.Series, want: pd.Series, columns) -> bool:
    """Whether `got` equals `want` in every column (to float rounding, nulls equal)."""
    for column in columns:
        if pd.isna(want[column]) and pd.isna(got[column]):
            continue
        if pd.isna(want[column]) or pd.isna(got[column]):
            return False
        if not math.isclose(want[column], got[column], rel_tol=1e-12):
            return False
    return True
