"""Pandera schemas of the bronze tables, derived from the landing declarations.

Bronze keeps rows as delivered (nulls and out-of-range values included; silver judges
them), so its schema pins only the columns, their Arrow types and the lineage.
"""

import pandas as pd
import pandera.pandas as pa

from platform_assets.ingest.bronze import bronze_schema
from platform_assets.ingest.sources import LandingSource

_LINEAGE = {"_source_file", "_line", "_ingested_at", "landing_date"}


def bronze_pandera_schema(source: LandingSource) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            field.name: pa.Column(
                pd.ArrowDtype(field.type),
                nullable=field.name not in _LINEAGE,
                checks=[pa.Check.ge(1, name="positive")] if field.name == "_line" else [],
            )
            for field in bronze_schema(source)
        },
        name=f"bronze_{source.name}",
        strict=True,
        ordered=True,
    )
