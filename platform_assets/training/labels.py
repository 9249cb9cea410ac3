"""Fraud labels as known at a cutoff: the entity frame of a training window.

A chargeback is only known from its `reported_at` on, and one can still arrive up to weeks
after the payment (1-30 days in the generated data). So at a cutoff `c`, a transaction at
time `t` is

- `immature` (label unknown) if `t + maturity > c`: a chargeback may still come. This holds
  whatever was reported already: keeping the early-reported frauds of a young day but not
  its legitimate payments would make that day look like all fraud;
- else `fraud` (label 1) if a fraud chargeback (reason `fraud_*`) was reported at or before
  `c`;
- else `reported_after_cutoff` (label unknown) if a chargeback exists in the lake but was
  reported after `c`. At `c` nobody knew it, so calling the payment legitimate would train on
  a label that was wrong at the time, and calling it fraud would use the future;
- else `legit` (label 0): mature and nothing reported by `c`. A customer dispute (reason
  `customer_dispute`) is not fraud: such a payment is legit.

Rows with an unknown label stay in the labels table (marked by `label_status`, label null)
and never reach the training set.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandera.pandas import Check, Column, DataFrameSchema

from platform_assets.ingest.sources import CHARGEBACKS, TRANSACTIONS
from platform_assets.lake.assets import silver_key
from platform_assets.resources import LakeResource
from platform_assets.tables import table_path

FRAUD, LEGIT = "fraud", "legit"
REPORTED_AFTER_CUTOFF, IMMATURE = "reported_after_cutoff", "immature"
LABEL_STATUSES = (FRAUD, LEGIT, REPORTED_AFTER_CUTOFF, IMMATURE)
KNOWN_STATUSES = (FRAUD, LEGIT)
FRAUD_REASON_PREFIX = "fraud_"

TRANSACTION_COLUMNS = ("transaction_id", "user_id", "merchant_id", "amount", "event_time")
CHARGEBACK_COLUMNS = ("transaction_id", "reported_at", "reason")
ENTITY_COLUMNS = (
    "transaction_id",
    "user_id",
    "merchant_id",
    "event_timestamp",
    "amount",
    "transaction_time",
)
"""What Feast needs per row: the join keys, the row's time, and the request data of the
on-demand view `transaction_context` (`amount`, `transaction_time`)."""
LABEL_COLUMNS = ("label", "label_status", "chargeback_reported_at", "chargeback_reason")
"""Everything that carries label information; none of it may ever become a feature."""

UTC_TIME = pa.timestamp("us", tz="UTC")
LABELS_SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("user_id", pa.string()),
        ("merchant_id", pa.string()),
        ("event_timestamp", UTC_TIME),
        ("amount", pa.float64()),
        ("transaction_time", UTC_TIME),
        ("label", pa.int64()),
        ("label_status", pa.string()),
        ("chargeback_reported_at", UTC_TIME),
        ("chargeback_reason", pa.string()),
    ]
)


@dataclass(frozen=True)
class LabelWindow:
    """The transactions of `first_day`..`last_day` (UTC event dates, inclusive), labelled as
    known at `cutoff`, with `maturity_days` before a payment without chargeback counts as
    legit."""

    first_day: date
    last_day: date
    cutoff: datetime
    maturity_days: float

    def __post_init__(self) -> None:
        if self.cutoff.tzinfo is None:
            raise ValueError(f"label cutoff {self.cutoff} has no time zone; give an offset")
        if self.first_day > self.last_day:
            raise ValueError(f"first day {self.first_day} is after last day {self.last_day}")
        if self.maturity_days < 0:
            raise ValueError("maturity_days must be >= 0")
        object.__setattr__(self, "cutoff", self.cutoff.astimezone(UTC))

    def to_json(self) -> dict:
        return {
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "label_cutoff": self.cutoff.isoformat(),
            "maturity_days": self.maturity_days,
        }

    @classmethod
    def from_json(cls, values: dict) -> "LabelWindow":
        return cls(
            date.fromisoformat(values["first_day"]),
            date.fromisoformat(values["last_day"]),
            datetime.fromisoformat(values["label_cutoff"]),
            float(values["maturity_days"]),
        )


def label_transactions(
    transactions: pa.Table, chargebacks: pa.Table, window: LabelWindow
) -> pa.Table:
    """One row per transaction of the window (`TRANSACTION_COLUMNS` of silver), with its
    label as known at the cutoff; sorted by transaction_id."""
    start = datetime.combine(window.first_day, datetime.min.time(), UTC)
    end = datetime.combine(window.last_day + timedelta(days=1), datetime.min.time(), UTC)
    in_window = pc.and_(
        pc.greater_equal(transactions["event_time"], start),
        pc.less(transactions["event_time"], end),
    )
    payments = transactions.filter(in_window).select(list(TRANSACTION_COLUMNS)).to_pandas()
    reports = chargebacks.select(list(CHARGEBACK_COLUMNS)).to_pandas()
    rows = payments.merge(reports, on="transaction_id", how="left", validate="one_to_one")

    cutoff = pd.Timestamp(window.cutoff)
    reported = rows["reported_at"].notna()
    known = reported & (rows["reported_at"] <= cutoff)
    fraud = known & rows["reason"].fillna("").str.startswith(FRAUD_REASON_PREFIX)
    after_cutoff = reported & ~known
    mature = rows["event_time"] + pd.Timedelta(days=window.maturity_days) <= cutoff
    status = pd.Series(LEGIT, index=rows.index)
    status[after_cutoff] = REPORTED_AFTER_CUTOFF
    status[fraud] = FRAUD
    status[~mature] = IMMATURE
    label = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    label[status == LEGIT] = 0
    label[status == FRAUD] = 1
    frame = entity_frame(rows).assign(
        label=label,
        label_status=status,
        chargeback_reported_at=rows["reported_at"],
        chargeback_reason=rows["reason"],
    )
    frame = frame.sort_values("transaction_id", kind="stable")
    return pa.Table.from_pandas(frame, schema=LABELS_SCHEMA, preserve_index=False)


def entity_frame(payments: pd.DataFrame) -> pd.DataFrame:
    """Feast's entity rows (`ENTITY_COLUMNS`) of silver payments: each payment is looked up
    at its own time, which is also the on-demand view's `transaction_time`."""
    return pd.DataFrame(
        {
            "transaction_id": payments["transaction_id"],
            "user_id": payments["user_id"],
            "merchant_id": payments["merchant_id"],
            "event_timestamp": payments["event_time"],
            "amount": payments["amount"],
            "transaction_time": payments["event_time"],
        }
    )


SILVER_TRANSACTIONS = table_path(silver_key(TRANSACTIONS))
SILVER_CHARGEBACKS = table_path(silver_key(CHARGEBACKS))
LABEL_INPUTS = (SILVER_TRANSACTIONS, SILVER_CHARGEBACKS)


def current_input_versions(lake: LakeResource) -> dict[str, int]:
    versions = {path: lake.version(path) for path in LABEL_INPUTS}
    missing = [path for path, version in versions.items() if version is None]
    if missing:
        raise LookupError(f"{', '.join(missing)} do(es) not exist yet: materialize silver first")
    return versions


def read_input(
    lake: LakeResource, path: str, versions: dict[str, int], columns, filters=None
) -> pa.Table:
    """`columns` of a silver table at the given version (Delta time travel)."""
    dataset = lake.open(path, versions[path]).to_pyarrow_dataset()
    return dataset.to_table(columns=list(columns), filter=filters)


def silver_days(lake: LakeResource, versions: dict[str, int]) -> tuple[date, date]:
    days = read_input(lake, SILVER_TRANSACTIONS, versions, ["event_date"])["event_date"]
    if len(days) == 0:
        raise LookupError("silver transactions hold no rows")
    bounds = pc.min_max(days).as_py()
    return bounds["min"], bounds["max"]


def compute_labels(lake: LakeResource, window: LabelWindow, versions: dict[str, int]) -> pa.Table:
    """The labels of the window from silver at the given versions."""
    day = pc.field(TRANSACTIONS.partition_date_column)
    transactions = read_input(
        lake,
        SILVER_TRANSACTIONS,
        versions,
        TRANSACTION_COLUMNS,
        (day >= window.first_day) & (day <= window.last_day),
    )
    chargebacks = read_input(lake, SILVER_CHARGEBACKS, versions, CHARGEBACK_COLUMNS)
    return label_transactions(transactions, chargebacks, window)


def default_cutoff(chargebacks: pa.Table) -> datetime | None:
    """The latest `reported_at` in the lake: what the lake knows labels up to."""
    if chargebacks.num_rows == 0:
        return None
    return pc.max(chargebacks["reported_at"]).as_py()


def status_counts(labels: pa.Table) -> dict[str, int]:
    counts = labels["label_status"].value_counts().to_pylist()
    found = {entry["values"]: entry["counts"] for entry in counts}
    return {status: found.get(status, 0) for status in LABEL_STATUSES}


_TEXT = pd.ArrowDtype(pa.string())
_UTC = pd.ArrowDtype(UTC_TIME)
LABELS_PANDERA_SCHEMA = DataFrameSchema(
    {
        "transaction_id": Column(_TEXT, unique=True),
        "user_id": Column(_TEXT),
        "merchant_id": Column(_TEXT),
        "event_timestamp": Column(_UTC),
        "amount": Column(pd.ArrowDtype(pa.float64()), Check.gt(0)),
        "transaction_time": Column(_UTC),
        "label": Column(pd.ArrowDtype(pa.int64()), Check.isin([0, 1]), nullable=True),
        "label_status": Column(_TEXT, Check.isin(LABEL_STATUSES)),
        "chargeback_reported_at": Column(_UTC, nullable=True),
        "chargeback_reason": Column(_TEXT, nullable=True),
    },
    checks=[
        Check(
            lambda frame: frame["label"].isna() == ~frame["label_status"].isin(KNOWN_STATUSES),
            name="label_null_iff_unknown",
        ),
        Check(
            lambda frame: frame["event_timestamp"] == frame["transaction_time"],
            name="request_time_is_event_time",
        ),
    ],
    name="labels",
    strict=True,
)


def labels_known_at_cutoff_violations(labels: pa.Table, window: LabelWindow) -> dict[str, int]:
    """Rows whose label uses what was not known at the cutoff, or was not final by then, per
    rule (all must be 0)."""
    frame = labels.select(["event_timestamp", "label_status", "chargeback_reported_at"]).to_pandas()
    cutoff = pd.Timestamp(window.cutoff)
    status = frame["label_status"]
    reported_at = frame["chargeback_reported_at"]
    maturity = pd.Timedelta(days=window.maturity_days)
    return {
        "fraud_reported_after_cutoff": int(((status == FRAUD) & ~(reported_at <= cutoff)).sum()),
        "legit_with_chargeback_after_cutoff": int(
            ((status == LEGIT) & (reported_at > cutoff)).sum()
        ),
        "labelled_before_maturity": int(
            (status.isin(KNOWN_STATUSES) & (frame["event_timestamp"] + maturity > cutoff)).sum()
        ),
    }
