"""Training-serving skew: what the online store serves vs the latest offline feature rows.

For a sample of entities of each feature table, the latest offline row (by event time, then
ingestion time: Feast's order) up to the last day pushed online is compared, feature by
feature, with what `FeatureStore.get_online_features` returns. Entities whose two latest rows
tie on both times are left out: either row may be online. Two nulls are equal; a null against
a value is a mismatch; numbers are equal to 1e-9 relative (a push keeps float64 values).
"""

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

RELATIVE_TOLERANCE = 1e-9


def latest_offline(rows: pd.DataFrame, entity: str, last_day: date | None) -> pd.DataFrame:
    """Each entity's latest row up to `last_day` (tied entities left out), indexed by entity."""
    if last_day is not None:
        rows = rows[rows["event_date"] <= last_day]
    order = [entity, "event_timestamp", "created_timestamp"]
    rows = rows.sort_values(order)
    latest = rows.groupby(entity).tail(1).set_index(entity)
    tied = rows.loc[rows.duplicated(order, keep=False), entity].unique()
    return latest.drop(index=tied, errors="ignore")


def sample_entities(entities, size: int, seed: int) -> list[str]:
    entities = sorted(entities)
    if len(entities) <= size:
        return entities
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(entities, size=size, replace=False).tolist())


@dataclass
class FeatureSkew:
    feature: str
    compared: int
    mismatches: int
    max_abs_difference: float
    """Largest |online - offline| over pairs where both are numbers (0 when none differ)."""
    examples: list[str]
    """Up to 5 mismatching entities."""

    @property
    def mismatch_share(self) -> float:
        return self.mismatches / self.compared if self.compared else 0.0


def compare(offline: pd.DataFrame, online: pd.DataFrame, features: list[str]) -> list[FeatureSkew]:
    """Per feature: how many sampled entities differ between `offline` and `online` (both
    indexed by entity, same entities)."""
    online = online.reindex(offline.index)
    out = []
    for feature in features:
        mismatched, largest = [], 0.0
        for entity, want, got in zip(offline.index, offline[feature], online[feature], strict=True):
            if pd.isna(want) and pd.isna(got):
                continue
            if pd.isna(want) or pd.isna(got):
                mismatched.append(entity)
                continue
            difference = abs(float(got) - float(want))
            largest = max(largest, difference)
            if not math.isclose(float(got), float(want), rel_tol=RELATIVE_TOLERANCE):
                mismatched.append(entity)
        out.append(FeatureSkew(feature, len(offline), len(mismatched), largest, mismatched[:5]))
    return out


def skew_table(results: dict[str, list[FeatureSkew]]) -> str:
    lines = [
        "| table | feature | compared | mismatches | share | max abs difference |",
        "|---|---|---|---|---|---|",
    ]
    for table, skews in results.items():
        for s in skews:
            lines.append(
                f"| {table} | {s.feature} | {s.compared} | {s.mismatches} | "
                f"{s.mismatch_share:.4f} | {s.max_abs_difference:.6g} |"
            )
    return "\n".join(lines)
