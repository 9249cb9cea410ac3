"""Chargebacks: most frauds, 1-30 days later, never after as_of, always for a silver row."""

from datetime import date

import pandas as pd
import pytest

from fraud_generator import GeneratorConfig, generate

from .landing_reader import parse_event_time, parse_record, physical_lines


def with_transactions(truth):
    silver = truth.transactions[truth.transactions.expected_outcome == "silver"]
    return truth.chargebacks.merge(
        silver[["transaction_id", "event_time_utc", "is_fraud"]],
        on="transaction_id",
        how="left",
        validate="one_to_one",
    )


def test_chargebacks_come_1_to_30_days_after_the_event(clean):
    chargebacks = with_transactions(clean)
    assert chargebacks.event_time_utc.notna().all(), "every chargeback has a silver transaction"
    delay = chargebacks.reported_at - chargebacks.event_time_utc
    assert delay.between(pd.Timedelta(days=1), pd.Timedelta(days=30)).all()


def test_most_frauds_and_few_legit_payments_are_charged_back(clean):
    chargebacks = with_transactions(clean)
    truth = clean.transactions
    charged_back = truth.transaction_id.isin(chargebacks.transaction_id)
    assert charged_back[truth.is_fraud].mean() == pytest.approx(0.9, abs=0.08)
    assert charged_back[~truth.is_fraud].mean() < 0.002
    reasons = dict(zip(chargebacks.transaction_id, chargebacks.reason, strict=True))
    legit_ids = truth.transaction_id[~truth.is_fraud & charged_back]
    assert {reasons[i] for i in legit_ids} <= {"customer_dispute"}
    assert {reasons[i] for i in truth.transaction_id[truth.is_fraud & charged_back]} <= {
        "fraud_card_not_present", "fraud_stolen_card",
    }  # fmt: skip


def test_chargeback_files_match_their_truth(clean):
    truth = clean.chargebacks.set_index(["source_file", "line"])
    for path in sorted((clean.landing_dir / "chargebacks").glob("*/*.jsonl")):
        relative = path.relative_to(clean.landing_dir).as_posix()
        for number, line in enumerate(physical_lines(path), start=1):
            record = parse_record(line, None)
            expected = truth.loc[(relative, number)]
            reported = parse_event_time(record["reported_at"])
            assert reported == expected.reported_at
            assert reported.date().isoformat() == path.parent.name
            assert record["transaction_id"] == expected.transaction_id
            assert record["reason"] == expected.reason


def test_chargebacks_reported_after_as_of_are_not_written(tmp_path):
    as_of = date(2024, 1, 8)
    truth = generate(
        GeneratorConfig(tmp_path, date(2024, 1, 1), days=3, fraud_rate=0.05, as_of=as_of)
    )
    folders = sorted(p.name for p in (tmp_path / "chargebacks").iterdir())
    assert folders and folders[-1] <= as_of.isoformat()
    reported_dates = truth.chargebacks.reported_at.dt.date
    assert (reported_dates <= as_of).all()
    assert truth.summary["chargebacks"]["reported_after_as_of"] > 0
    assert truth.summary["config"]["as_of"] == as_of.isoformat()
    assert (reported_dates >= date(2024, 1, 2)).all()
