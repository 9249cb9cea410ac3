"""Do the contenders build the same training set? Checked on every row before timing.

Each table is compared with the floor's by `transaction_id` (both sorted by it): the same
rows, integers and timestamps equal, floats within 1e-9 (relative, or absolute near 0),
nulls in the same places (a NaN counts as a null: pandas' missing float). A contender that
returns fewer rows than the floor, or the same rows with other values, is recorded as a
finding: which rows are missing and what their entity rows have in common (no user feature
row inside the TTL, ...) are counted. Contenders listed as `must_agree` (the platform) stop
the run when they differ in anything.
"""

from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.training_set.duckdb_floor import VIEWS

KEY = "transaction_id"
RELATIVE = 1e-9
ABSOLUTE = 1e-12
EXAMPLES = 3


class Disagreement(AssertionError):
    pass


@dataclass
class Comparison:
    contender: str
    rows: int
    reference_rows: int
    missing_rows: int = 0
    extra_rows: int = 0
    duplicate_keys: int = 0
    differing_columns: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    missing_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def agrees(self) -> bool:
        return not (
            self.missing_rows or self.extra_rows or self.duplicate_keys or self.differing_columns
        )

    def summary(self) -> str:
        if self.agrees:
            return f"{self.rows:,} rows, all equal to the floor's"
        parts = [f"{self.rows:,} rows vs the floor's {self.reference_rows:,}"]
        if self.missing_rows:
            reasons = ", ".join(f"{n:,} {why}" for why, n in self.missing_by_reason.items())
            parts.append(f"{self.missing_rows:,} entity rows missing ({reasons})")
        if self.extra_rows or self.duplicate_keys:
            parts.append(f"{self.extra_rows:,} extra rows, {self.duplicate_keys:,} repeated keys")
        if self.differing_columns:
            columns = ", ".join(f"{name} {n:,}" for name, n in self.differing_columns.items())
            parts.append(f"values differ on common rows: {columns}")
        return "; ".join(parts)

    def to_json(self) -> dict:
        return {**asdict(self), "agrees": self.agrees, "summary": self.summary()}


def _null_mask(column: pa.ChunkedArray) -> np.ndarray:
    missing = column.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_floating(column.type):
        missing |= pc.fill_null(pc.is_nan(column), False).to_numpy(zero_copy_only=False)
    return missing


def compare(name: str, reference: pa.Table, table: pa.Table) -> Comparison:
    reference = reference.sort_by(KEY)
    table = table.sort_by(KEY)
    result = Comparison(name, table.num_rows, reference.num_rows)
    keys = table[KEY]
    result.duplicate_keys = table.num_rows - pc.count_distinct(keys).as_py()
    present = pc.is_in(reference[KEY], value_set=keys)
    result.missing_rows = reference.num_rows - pc.sum(present).as_py()
    result.extra_rows = pc.sum(pc.invert(pc.is_in(keys, value_set=reference[KEY]))).as_py() or 0
    if result.missing_rows:
        result.missing_by_reason = _reasons(reference.filter(pc.invert(present)))
    if result.duplicate_keys:  # compare only the keys that occur once
        counts = table.group_by(KEY).aggregate([([], "count_all")])
        single = counts.filter(pc.equal(counts["count_all"], 1))[KEY]
        table = table.filter(pc.is_in(table[KEY], value_set=single))
        present = pc.and_(present, pc.is_in(reference[KEY], value_set=single))
    common = reference.filter(present)
    table = table.filter(pc.is_in(table[KEY], value_set=common[KEY]))
    for name_ in reference.column_names:
        left, right = common[name_], table[name_]
        null_left, null_right = _null_mask(left), _null_mask(right)
        wrong = null_left != null_right
        both = ~null_left & ~null_right
        if pa.types.is_floating(left.type) or pa.types.is_floating(right.type):
            a = pc.fill_null(left.cast(pa.float64()), 0).to_numpy()
            b = pc.fill_null(right.cast(pa.float64()), 0).to_numpy()
            with np.errstate(invalid="ignore"):
                wrong |= both & ~np.isclose(a, b, rtol=RELATIVE, atol=ABSOLUTE)
        else:
            if left.type != right.type:
                right = right.cast(left.type)
            wrong |= both & ~pc.fill_null(pc.equal(left, right), True).to_numpy(False)
        if wrong.any():
            result.differing_columns[name_] = int(wrong.sum())
            for i in np.flatnonzero(wrong)[:EXAMPLES]:
                result.examples.append(
                    f"{common[KEY][int(i)]} {name_}: {left[int(i)]} vs {right[int(i)]}"
                )
    return result


def _reasons(missing: pa.Table) -> dict[str, int]:
    """Why a contender may have dropped these rows: which views gave them no features."""
    reasons = {}
    for alias, _, columns, ttl_days in VIEWS:
        empty = pc.is_null(missing[columns[0]]).to_numpy(zero_copy_only=False)
        reasons[f"without a {alias[:-1]} feature inside its {ttl_days}-day TTL"] = int(empty.sum())
    with_both = missing.num_rows - max(reasons.values())
    if with_both > 0:
        reasons["with features from both views"] = with_both
    return reasons


def check(
    tables: dict[str, pa.Table], reference: str, must_agree: set[str]
) -> dict[str, Comparison]:
    """Every table against `tables[reference]`; raise if one in `must_agree` differs."""
    comparisons = {name: compare(name, tables[reference], table) for name, table in tables.items()}
    wrong = [c for name, c in comparisons.items() if name in must_agree and not c.agrees]
    if wrong:
        raise Disagreement(
            "the contenders disagree:\n"
            + "\n".join(f"{c.contender}: {c.summary()}; e.g. {c.examples}" for c in wrong)
        )
    return comparisons
