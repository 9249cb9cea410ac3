"""Do the contenders compute the same numbers? Checked before timing.

The scipy loop is the oracle. The platform's metrics (KS statistic and p-value, Wasserstein
and normalised Wasserstein, PSI, Cohen's d; chi-square statistic, p-value and degrees of
freedom, Jensen-Shannon distance; rows counted per side) and the floor's (PSI, chi-square,
Jensen-Shannon) must equal the oracle's, column by column, to RELATIVE: |a - b| <= 1e-9 *
max(|a|, |b|), with no absolute slack (a p-value of 1e-300 must not pass as 0), NaN only
against NaN. A contender that differs stops the run.

Evidently is compared where it computes the same quantity (METHODS_AS_PLATFORM) and reported,
not enforced; where its method has the same name but another definition (DIFFERENT_DEFINITION)
that is said instead of a number. Which columns each report flags is judged against the
generator's truth.
"""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.drift import data
from platform_assets.monitoring.drift import CATEGORICAL_METRICS, NUMERIC_METRICS, ROW_COUNTS

RELATIVE = 1e-9
EXAMPLES = 3
METRICS = {"numeric": NUMERIC_METRICS + ROW_COUNTS, "categorical": CATEGORICAL_METRICS + ROW_COUNTS}

EVIDENTLY_METHOD_NAMES = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "PSI": "psi",
}
"""Evidently names a method it picked itself by its display name, one it was given by key."""
METHODS_AS_PLATFORM = {
    "wasserstein": ("wasserstein_normalised", 1.0),
    "ks": ("ks_p_value", 1.0),
    # Evidently's scipy call uses the natural logarithm, the platform base 2:
    # sqrt(JSD / ln 2) * sqrt(ln 2) = sqrt(JSD).
    "jensenshannon": ("jensen_shannon", math.sqrt(math.log(2))),
}
"""Evidently method -> (the platform's metric, factor turning the platform's value into
Evidently's). Wasserstein: Evidently divides by max(std, 0.001), the platform by std; every
column's std here is above 0.001."""
DIFFERENT_DEFINITION = {
    "psi": "Evidently's PSI uses equal-width (Sturges) bins over both samples together, the "
    "platform's 10 bins at the reference's quantiles",
    "chisquare": "Evidently's chi-square is a goodness-of-fit test of the day's counts against "
    "the reference's shares (scipy.stats.chisquare), the platform's the 2 x K contingency test",
}
P_VALUE_METHODS = {"ks", "chisquare"}
EXACT_KS_ROWS = 10_000
"""scipy's ks_2samp(method="auto"), which Evidently calls, computes the exact p-value when
neither sample has more rows than this, the asymptotic one (the platform's) above."""


class Disagreement(AssertionError):
    pass


def relative_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        difference = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
    difference = np.where(a == b, 0.0, difference)
    both_nan = np.isnan(a) & np.isnan(b)
    return np.where(both_nan, 0.0, np.where(np.isnan(a) | np.isnan(b), np.inf, difference))


@dataclass
class Comparison:
    contender: str
    values: int = 0
    largest: dict[str, float] = field(default_factory=dict)
    """Per metric: the largest relative difference over the columns."""
    examples: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return all(value <= RELATIVE for value in self.largest.values())

    def summary(self) -> str:
        worst = max(self.largest.values(), default=0.0)
        verdict = "all equal to" if self.agrees else "DIFFERENT from"
        return (
            f"{self.values} values ({len(self.largest)} metrics) {verdict} the scipy loop's "
            f"to {RELATIVE:g} relative; largest relative difference {worst:.1e}"
        )

    def to_json(self) -> dict:
        return {**asdict(self), "agrees": self.agrees, "summary": self.summary()}


def compare(name: str, table: pd.DataFrame, oracle: pd.DataFrame) -> Comparison:
    """Every metric `table` has for a column against the oracle's value for it."""
    result = Comparison(name)
    for kind, metrics in METRICS.items():
        columns = oracle.index[oracle["kind"] == kind]
        missing = columns.difference(table.index)
        if len(missing):
            raise Disagreement(f"{name} has no row for {list(missing)}")
        for metric in (m for m in metrics if m in table.columns):
            mine, theirs = table.loc[columns, metric], oracle.loc[columns, metric]
            difference = relative_difference(mine, theirs)
            result.values += len(columns)
            result.largest[metric] = float(difference.max())
            for i in np.flatnonzero(difference > RELATIVE)[:EXAMPLES]:
                result.examples.append(
                    f"{columns[i]} {metric}: {mine.iloc[i]!r} vs {theirs.iloc[i]!r}"
                )
    return result


def require_agreement(tables: dict[str, pd.DataFrame], oracle: str) -> dict[str, Comparison]:
    """Every table against `tables[oracle]`; raise if one differs."""
    comparisons = {
        name: compare(name, table, tables[oracle])
        for name, table in tables.items()
        if name != oracle
    }
    wrong = [c for c in comparisons.values() if not c.agrees]
    if wrong:
        raise Disagreement(
            "the contenders disagree with the scipy loop:\n"
            + "\n".join(f"{c.contender}: {c.summary()}; e.g. {c.examples}" for c in wrong)
        )
    return comparisons


def evidently_agreement(scores: list[dict], platform: pd.DataFrame) -> dict[str, str]:
    """Per Evidently method: how its per-column scores compare with the platform's."""
    by_method: dict[str, list[dict]] = {}
    for score in scores:
        method = EVIDENTLY_METHOD_NAMES.get(score["method"], score["method"])
        by_method.setdefault(method, []).append(score)
    found = {}
    for method, entries in sorted(by_method.items()):
        columns = [entry["column"] for entry in entries]
        rows = platform.loc[columns, ["reference_rows", "current_rows"]].max(axis=1)
        if method == "ks" and (rows <= EXACT_KS_ROWS).any():
            found[method] = (
                f"{len(entries)} columns; at {rows.min():,} rows Evidently's ks_2samp computes "
                "the exact p-value, the platform the asymptotic one"
            )
        elif method in METHODS_AS_PLATFORM:
            metric, factor = METHODS_AS_PLATFORM[method]
            difference = relative_difference(
                [entry["value"] for entry in entries],
                platform.loc[columns, metric].to_numpy(dtype=float) * factor,
            )
            verdict = "equal" if difference.max() <= RELATIVE else "NOT equal"
            found[method] = (
                f"{len(entries)} columns against the platform's {metric}: {verdict} to "
                f"{RELATIVE:g} (largest relative difference {difference.max():.1e})"
            )
        else:
            found[method] = f"{len(entries)} columns; " + DIFFERENT_DEFINITION.get(
                method, "no platform metric of this definition"
            )
    return found


def drifted_columns(folder: Path) -> set[str]:
    drifted = json.loads((folder / data.TRUTH_FILE).read_text())
    return set(drifted["drifted_numeric"] + drifted["drifted_categorical"])


def flags_against_truth(flagged: set[str], judged: set[str], drifted: set[str]) -> str:
    """How many of the judged columns that drifted were flagged, and how many others."""
    drifted = drifted & judged
    return (
        f"{len(flagged & drifted)} of the {len(drifted)} drifted columns, "
        f"{len(flagged - drifted)} of the {len(judged - drifted)} others"
    )


def evidently_flags(scores: list[dict]) -> dict[str, tuple[set[str], set[str]]]:
    """Per method, the columns it judged and those Evidently calls drifted at its thresholds
    (p-value methods below theirs, distances at or above)."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    for score in scores:
        method = EVIDENTLY_METHOD_NAMES.get(score["method"], score["method"])
        judged, flagged = found.setdefault(method, (set(), set()))
        judged.add(score["column"])
        below = score["value"] < score["threshold"]
        if below == (method in P_VALUE_METHODS):
            flagged.add(score["column"])
    return found
