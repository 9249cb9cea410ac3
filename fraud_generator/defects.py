"""Bad input and its prescribed outcome (docs/landing-contract.md, "Outcomes of bad input"):
how each kind of defect corrupts a line, and what the ground truth expects of that line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fraud_generator.text import (
    NULL_TEXT,
    encode_string,
    format_fixed,
    format_timestamps,
)
from fraud_generator.world import DAY_MS

SILVER, QUARANTINE, DUPLICATE, REJECTED = "silver", "quarantine", "duplicate", "rejected"
OUTCOMES = (SILVER, QUARANTINE, DUPLICATE, REJECTED)

# Where a defective line goes: replacing the event's line, as an extra copy of it earlier
# in the same file (duplicates: the platform keeps the later delivery), or as the physical
# last line of the file.
IN_PLACE, EARLIER_COPY, LAST_LINE = "in_place", "earlier_copy", "last_line"

# The platform compares event times with its wall-clock ingestion time, so a deterministic
# "future" event must lie beyond any real run: a century after the partition date.
FUTURE_SHIFT_MS = 36_525 * DAY_MS
# Card numbers are tokenized at ingest, so a missing number fails the token's check.
NOT_NULLABLE_CHECKS = {
    "transaction_id": "transaction_id:not_nullable",
    "user_id": "user_id:not_nullable",
    "card_number": "card_token:not_nullable",
    "merchant_id": "merchant_id:not_nullable",
}
STALE_AMOUNT_FACTOR = 0.9  # the superseded delivery of a conflicting duplicate


@dataclass(frozen=True)
class LineContext:
    """What a defect needs to know about the event behind the line it corrupts."""

    fmt: str
    sequence: int
    event_ms: int
    offset_minutes: int
    amount: float


# Field edits get the line's encoded field texts and return replacements for some of them;
# line edits get the rendered line (without newline) and return the corrupted text.
FieldEdit = Callable[[dict[str, str], LineContext], dict[str, str]]
LineEdit = Callable[[str, dict[str, str], LineContext], str]


@dataclass(frozen=True)
class DefectKind:
    name: str
    outcome: str
    reason: str | None = None
    warning: str | None = None
    formats: tuple[str, ...] = ("jsonl", "csv")
    placement: str = IN_PLACE
    edit_fields: FieldEdit | None = None
    edit_line: LineEdit | None = None
    event_time_resolution_ms: int = 1  # epoch seconds lose the milliseconds

    @property
    def replaces_line(self) -> bool:
        """Corrupts the event's own line rather than adding a copy of it."""
        return self.placement in (IN_PLACE, LAST_LINE)


def _set_text(column: str, text: str) -> FieldEdit:
    return lambda fields, ctx: {column: text}


def _set_string(column: str, value: str) -> FieldEdit:
    return lambda fields, ctx: {column: encode_string(value, ctx.fmt)}


def _null(column: str) -> FieldEdit:
    return lambda fields, ctx: {column: NULL_TEXT[ctx.fmt]}


def _shifted_event_time(shift_ms: int) -> FieldEdit:
    def edit(fields: dict[str, str], ctx: LineContext) -> dict[str, str]:
        moved = format_timestamps(
            np.array([ctx.event_ms + shift_ms]), np.array([ctx.offset_minutes])
        )
        return {"event_time": encode_string(moved[0].as_py(), ctx.fmt)}

    return edit


def _naive_event_time(fields: dict[str, str], ctx: LineContext) -> dict[str, str]:
    """UTC wall time without offset, so reading it as UTC gives the right instant."""
    naive = format_timestamps(np.array([ctx.event_ms]), None)[0].as_py()
    return {"event_time": encode_string(naive, ctx.fmt)}


def _epoch_event_time(unit_ms: int) -> FieldEdit:
    return lambda fields, ctx: {"event_time": str(ctx.event_ms // unit_ms)}


def _negative_amount(fields: dict[str, str], ctx: LineContext) -> dict[str, str]:
    return {"amount": "-" + fields["amount"]}


def _stale_amount(fields: dict[str, str], ctx: LineContext) -> dict[str, str]:
    stale = np.array([round(ctx.amount * STALE_AMOUNT_FACTOR, 2)])
    return {"amount": format_fixed(stale, 2)[0].as_py()}


def _unclosed_quote(fields: dict[str, str], ctx: LineContext) -> dict[str, str]:
    return {"payment_method": '"' + fields["payment_method"]}


def _invalid_utf8(fields: dict[str, str], ctx: LineContext) -> dict[str, str]:
    # Lone surrogates become the raw bytes 0xff 0xfe when encoded with "surrogateescape".
    method = fields["payment_method"]
    return {"payment_method": method[:2] + "\udcff\udcfe" + method[2:]}


def _ragged(line: str, fields: dict[str, str], ctx: LineContext) -> str:
    """Alternately one field too many and one too few."""
    return line + ",extra" if ctx.sequence % 2 else line.rsplit(",", 1)[0]


def _malformed_json(line: str, fields: dict[str, str], ctx: LineContext) -> str:
    return '{"transaction_id": ' + fields["transaction_id"] + ", oops}"


def _cut_in_half(line: str, fields: dict[str, str], ctx: LineContext) -> str:
    # Half a line always lacks the closing brace (JSON) or the last fields (CSV).
    return line[: len(line) // 2]


ROW_DEFECTS = (
    DefectKind("ragged_row", QUARANTINE, "ragged_row", formats=("csv",), edit_line=_ragged),
    DefectKind(
        "unclosed_quote",
        QUARANTINE,
        "unclosed_quote",
        formats=("csv",),
        edit_fields=_unclosed_quote,
    ),
    DefectKind("invalid_utf8", QUARANTINE, "invalid_utf8", edit_fields=_invalid_utf8),
    DefectKind(
        "malformed_json",
        QUARANTINE,
        "malformed_json",
        formats=("jsonl",),
        edit_line=_malformed_json,
    ),
    DefectKind(
        "truncated_record",
        QUARANTINE,
        "truncated_record",
        placement=LAST_LINE,
        edit_line=_cut_in_half,
    ),
    DefectKind(
        "wrong_type_amount",
        QUARANTINE,
        "wrong_type:amount",
        edit_fields=_set_string("amount", "twelve"),
    ),
    DefectKind(
        "wrong_type_event_time",
        QUARANTINE,
        "wrong_type:event_time",
        edit_fields=_set_string("event_time", "not-a-date"),
    ),
    # JSON has no NaN/Infinity, so non-finite amounts only exist in CSV files.
    DefectKind(
        "nan_amount",
        QUARANTINE,
        "amount:finite",
        formats=("csv",),
        edit_fields=_set_text("amount", "nan"),
    ),
    DefectKind(
        "infinite_amount",
        QUARANTINE,
        "amount:finite",
        formats=("csv",),
        edit_fields=_set_text("amount", "inf"),
    ),
    DefectKind(
        "zero_amount", QUARANTINE, "amount:positive", edit_fields=_set_text("amount", "0.00")
    ),
    DefectKind("negative_amount", QUARANTINE, "amount:positive", edit_fields=_negative_amount),
    *(
        DefectKind(f"null_{column}", QUARANTINE, check, edit_fields=_null(column))
        for column, check in NOT_NULLABLE_CHECKS.items()
    ),
    # Also outside the partition, so the platform lists event_time:in_partition too; the
    # ground truth names the check this defect is about.
    DefectKind(
        "future_event_time",
        QUARANTINE,
        "event_time:not_in_future",
        edit_fields=_shifted_event_time(FUTURE_SHIFT_MS),
    ),
    DefectKind(
        "event_time_outside_partition",
        QUARANTINE,
        "event_time:in_partition",
        edit_fields=_shifted_event_time(-DAY_MS),
    ),
    DefectKind(
        "conflicting_duplicate",
        QUARANTINE,
        "transaction_id:duplicate_conflict",
        placement=EARLIER_COPY,
        edit_fields=_stale_amount,
    ),
    DefectKind("exact_duplicate", DUPLICATE, placement=EARLIER_COPY),
    DefectKind(
        "naive_timestamp", SILVER, warning="naive_timestamps", edit_fields=_naive_event_time
    ),
    DefectKind(
        "epoch_seconds",
        SILVER,
        warning="epoch_timestamps",
        edit_fields=_epoch_event_time(1000),
        event_time_resolution_ms=1000,
    ),
    DefectKind(
        "epoch_milliseconds", SILVER, warning="epoch_timestamps", edit_fields=_epoch_event_time(1)
    ),
)
ROW_DEFECT_NAMES = tuple(kind.name for kind in ROW_DEFECTS)
TRUNCATED_RECORD = ROW_DEFECT_NAMES.index("truncated_record")
NULL_TRANSACTION_ID = ROW_DEFECT_NAMES.index("null_transaction_id")

# File-level defects; removed/renamed columns come from `schema_defect`, not `defects`.
REDELIVERED_FILE, ADDED_COLUMN, EMPTY_FILE = "redelivered_file", "added_column", "empty_file"
SCHEMA_CHANGES = {
    "removed_column": {"merchant_category": None},
    "renamed_column": {"merchant_id": "merchant"},
}
DEFECT_NAMES = (*ROW_DEFECT_NAMES, REDELIVERED_FILE, *SCHEMA_CHANGES)
REASONS = (*sorted({kind.reason for kind in ROW_DEFECTS if kind.reason}), REDELIVERED_FILE)
WARNINGS = ("naive_timestamps", "epoch_timestamps", "unexpected_columns")
UNEXPECTED_COLUMNS = WARNINGS.index("unexpected_columns")


def _vocabulary_index(values: list[str | None], vocabulary: tuple[str, ...]) -> np.ndarray:
    return np.array([vocabulary.index(v) if v else -1 for v in values])


KIND_OUTCOME = _vocabulary_index([kind.outcome for kind in ROW_DEFECTS], OUTCOMES)
KIND_REASON = _vocabulary_index([kind.reason for kind in ROW_DEFECTS], REASONS)
KIND_WARNING = _vocabulary_index([kind.warning for kind in ROW_DEFECTS], WARNINGS)
KIND_EVENT_TIME_RESOLUTION = np.array([kind.event_time_resolution_ms for kind in ROW_DEFECTS])
