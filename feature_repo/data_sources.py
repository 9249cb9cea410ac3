"""Where Feast reads features offline: the platform's Delta feature tables, and the request.

The table locations come from the platform's own settings (PLATFORM_ENV, PLATFORM_DATA_DIR,
PLATFORM_LAKE_URI), so Feast reads exactly what the Dagster assets wrote. One row per
transaction: `event_timestamp` is the transaction's time, `created_timestamp` when its
silver row was ingested (the tie-break Feast uses between rows at the same event time).
"""

from feast import FileSource, RequestSource
from feast.data_format import DeltaFormat
from feast.field import Field
from feast.types import Float64, UnixTimestamp

from platform_assets.feature_store.sources import feature_table_uri


def feature_table_source(table: str, description: str) -> FileSource:
    return FileSource(
        name=f"{table}_source",
        path=feature_table_uri(table),
        file_format=DeltaFormat(),
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
        description=f"features/{table}: {description}",
    )


user_features_source = feature_table_source(
    "user_features", "per-user windows at each transaction's time."
)
merchant_features_source = feature_table_source(
    "merchant_features", "per-merchant windows and known fraud rate."
)

transaction_request = RequestSource(
    name="transaction_request",
    schema=[
        Field(name="amount", dtype=Float64, description="The payment's amount."),
        Field(name="transaction_time", dtype=UnixTimestamp, description="When it happens."),
    ],
    description="What the scoring request knows about the payment being scored.",
)
