"""What each landing source looks like (docs/landing-contract.md), as data.

One `LandingSource` per source system; the parser, the bronze tables and the sensor are all
driven from these declarations.
"""

from dataclasses import dataclass
from enum import Enum

import pyarrow as pa


class Kind(Enum):
    STRING = "string"
    FLOAT = "float"
    TIMESTAMP = "timestamp"
    DATE = "date"
    CARD_NUMBER = "card_number"  # tokenized at parse time, stored as `card_token`

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self]


_ARROW_TYPES = {
    Kind.STRING: pa.string(),
    Kind.FLOAT: pa.float64(),
    Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    Kind.DATE: pa.date32(),
    Kind.CARD_NUMBER: pa.string(),
}


CARD_TOKEN_COLUMN = "card_token"


@dataclass(frozen=True)
class LandingSource:
    name: str
    columns: dict[str, Kind]
    key: str
    """Column identifying a record; duplicates of it are resolved in silver."""
    partition_time_column: str | None = None
    """Timestamp column whose UTC date must equal the partition date; None = unpartitioned."""
    partition_date_column: str | None = None
    """Name of that UTC date in silver, the column silver is partitioned by."""

    @property
    def partitioned(self) -> bool:
        return self.partition_time_column is not None

    def stored_name(self, column: str) -> str:
        return CARD_TOKEN_COLUMN if self.columns[column] is Kind.CARD_NUMBER else column

    def typed_schema(self) -> pa.Schema:
        return pa.schema(
            [
                pa.field(self.stored_name(name), kind.arrow_type)
                for name, kind in self.columns.items()
            ]
        )


TRANSACTIONS = LandingSource(
    name="transactions",
    columns={
        "transaction_id": Kind.STRING,
        "user_id": Kind.STRING,
        "card_number": Kind.CARD_NUMBER,
        "amount": Kind.FLOAT,
        "currency": Kind.STRING,
        "merchant_id": Kind.STRING,
        "merchant_category": Kind.STRING,
        "location_lat": Kind.FLOAT,
        "location_lon": Kind.FLOAT,
        "payment_method": Kind.STRING,
        "device_id": Kind.STRING,
        "event_time": Kind.TIMESTAMP,
    },
    key="transaction_id",
    partition_time_column="event_time",
    partition_date_column="event_date",
)

CHARGEBACKS = LandingSource(
    name="chargebacks",
    columns={
        "transaction_id": Kind.STRING,
        "reported_at": Kind.TIMESTAMP,
        "reason": Kind.STRING,
    },
    key="transaction_id",
    partition_time_column="reported_at",
    partition_date_column="reported_date",
)

USERS = LandingSource(
    name="users",
    columns={
        "user_id": Kind.STRING,
        "home_lat": Kind.FLOAT,
        "home_lon": Kind.FLOAT,
        "home_country": Kind.STRING,
        "signup_date": Kind.DATE,
        "risk_segment": Kind.STRING,
    },
    key="user_id",
)

MERCHANTS = LandingSource(
    name="merchants",
    columns={
        "merchant_id": Kind.STRING,
        "merchant_name": Kind.STRING,
        "merchant_category": Kind.STRING,
        "merchant_lat": Kind.FLOAT,
        "merchant_lon": Kind.FLOAT,
        "merchant_country": Kind.STRING,
    },
    key="merchant_id",
)

PARTITIONED_SOURCES = (TRANSACTIONS, CHARGEBACKS)
REFERENCE_SOURCES = (USERS, MERCHANTS)
