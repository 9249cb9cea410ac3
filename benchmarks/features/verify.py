"""Do the contenders agree? Their written tables are compared before anything is timed.

Every row is compared (1M rows join in well under a second; more than a sample costs
nothing here): the same transaction ids, integers equal, floats within a relative 1e-9
(or absolute 1e-6 for values near 0, e.g. a sum minus the current amount), nulls in the
same places, timestamps equal. A disagreement raises with examples.
"""

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from benchmarks.features.output import SCHEMA, features_uri

RELATIVE = 1e-9
ABSOLUTE = 1e-6
EXAMPLES = 5


class Disagreement(AssertionError):
    pass


def differences(expected: pa.Table, actual: pa.Table) -> list[str]:
    """What differs between two user-feature tables (empty when they agree)."""
    expected, actual = _sorted(expected), _sorted(actual)
    if expected.num_rows != actual.num_rows:
        return [f"{expected.num_rows:,} rows vs {actual.num_rows:,}"]
    problems = []
    for field in SCHEMA:
        left = expected[field.name].combine_chunks()
        right = actual[field.name].combine_chunks()
        null_left, null_right = left.is_null().to_numpy(False), right.is_null().to_numpy(False)
        wrong = null_left != null_right
        both = ~null_left & ~null_right
        if pa.types.is_floating(field.type):
            a = left.fill_null(0).to_numpy()
            b = right.fill_null(0).to_numpy()
            wrong |= both & ~np.isclose(a, b, rtol=RELATIVE, atol=ABSOLUTE)
        else:
            wrong |= both & ~pc.equal(left, right).fill_null(True).to_numpy(False)
        if wrong.any():
            rows = np.flatnonzero(wrong)[:EXAMPLES]
            examples = ", ".join(
                f"{expected['transaction_id'][i]}: {left[i]} vs {right[i]}" for i in rows
            )
            problems.append(f"{field.name}: {wrong.sum():,} rows differ, e.g. {examples}")
    return problems


def require_agreement(tables: dict[str, pa.Table], reference: str) -> None:
    """Raise `Disagreement` unless every table equals `tables[reference]`."""
    problems = []
    for name, table in tables.items():
        if name != reference:
            found = differences(tables[reference], table)
            problems += [f"{name} vs {reference}: {problem}" for problem in found]
    if problems:
        raise Disagreement("the contenders disagree:\n" + "\n".join(problems))


def _sorted(table: pa.Table) -> pa.Table:
    return table.select(SCHEMA.names).cast(SCHEMA).sort_by("transaction_id")


def written_rows(out: Path, day: date) -> pa.Table:
    """The day's partition as a contender wrote it under `out`."""
    table = DeltaTable(str(features_uri(out)))
    return table.to_pyarrow_dataset().to_table(filter=pc.field("event_date") == day)
