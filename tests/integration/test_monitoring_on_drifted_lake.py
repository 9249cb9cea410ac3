"""The monitoring loop on a lake of its own with drift injected from a known date, with the
default thresholds, judged by the generator's ground truth.

18 days of 2,000 payments (seed 21), drift from day 12 (amount x1.6, more online payments,
more digital goods and electronics, activity 3 hours later). The champion learns days 1-9
(evaluated on 8-9); the drift report runs on the clean days 10 and 11 and the drifted days 12
and 13. Then the real loop: the alert sensor, the requested retraining on days 1-13 (its
challenger and the champion both scored on the drifted days 12-13) and the champion rule.

Why these sizes: 2,000 payments a day, as in tests/monitoring/test_drift_on_generated_days.py,
whose 20 seeds bound the false alarms of the rules at this size. The feature tables' windows
need history (7 days for the user features, 30 for the merchant features) before their values
are complete, and the report leaves incomplete values out, so the champion's window runs to
day 9: its days 8-9 are the user features' reference. Chargebacks arrive 1-30 days after the
payment, so the lake runs 5 days past the retraining's evaluation days to leave it frauds to
evaluate on.
"""

import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import mlflow
import pandas as pd
import pytest
from dagster import build_sensor_context
from sklearn.metrics import average_precision_score

from platform_assets.monitoring.alerts import DRIFT_ALERTS_TABLE, AlertResource, drift_alert_sensor
from platform_assets.monitoring.assets import (
    DRIFT_METRICS_TABLE,
    SCORE_COLUMN,
    WINDOW_DAYS,
)
from platform_assets.monitoring.drift import CRITICAL, OK, worst_severity
from platform_assets.training.assets import MODEL_KEY, TRAINING_SET_TABLE
from platform_assets.training.model import CHAMPION, MODEL_NAME
from platform_assets.training.training_set import LABEL
from tests.integration.conftest import FIRST_DAY, build_materialized_lake
from tests.integration.test_monitoring_graph import check_result
from tests.integration.test_training_graph import metadata, run_training, training_config

pytestmark = pytest.mark.integration


def day(number: int) -> str:
    """The lake's day `number`, counted from 1."""
    return (FIRST_DAY + timedelta(days=number - 1)).isoformat()


DAYS = 18
ROWS_PER_DAY = 2000
SEED = 21
DRIFT_FROM = date.fromisoformat(day(12))
CHAMPION_WINDOW = (day(1), day(9))
CLEAN_DAYS = (day(10), day(11))
DRIFTED_DAYS = (day(12), day(13))
RETRAIN_WINDOW = (day(1), day(13))
"""Its last two days (training_config's evaluation days) are the drifted days reported."""

# Which report columns each column the generator drifts can move, and why. The report watches
# the champion's features (feature tables and request-time features), the payment fields
# `payment_method` and `merchant_category`, and the champion's score (moved by any of them).
AFFECTED_BY = {
    # every legit amount x1.6: the user's amount sums and means, the amount against that mean
    "amount": {"user_amount_sum_24h", "user_amount_mean_7d", "amount_to_user_mean_7d"},
    # more online payments: located at the user's home, not the shop (distance and speed from
    # the previous payment), bought from a wider set of merchants (distinct merchants a day)
    "payment_method": {
        "payment_method",
        "user_km_from_prev_txn",
        "user_velocity_kmh",
        "user_distinct_merchants_24h",
    },
    # more digital goods and electronics: traffic moves to other merchants (their counts,
    # known chargebacks and fraud rates), categories differ in online share (payment method),
    # in typical amount and in how many distinct merchants serve them
    "merchant_category": {
        "merchant_category",
        "merchant_txn_count_24h",
        "merchant_txn_count_30d",
        "merchant_chargebacks_known_30d",
        "merchant_fraud_rate_30d",
        "payment_method",
        "user_amount_sum_24h",
        "user_amount_mean_7d",
        "amount_to_user_mean_7d",
        "user_distinct_merchants_24h",
    },
    # activity 3 hours later: the hour of day; across the drift date, the time since the
    # previous payment (and the speed derived from it) and what 24-hour windows hold
    "event_hour": {
        "hour_sin",
        "hour_cos",
        "user_seconds_since_prev_txn",
        "user_velocity_kmh",
        "user_txn_count_24h",
        "merchant_txn_count_24h",
    },
}
# The columns through which each drifted input must show (any severity but ok): the raw amount
# is no model input, so its drift shows in the features built from it.
DETECTED_THROUGH = {
    "amount": {"user_amount_sum_24h", "user_amount_mean_7d", "amount_to_user_mean_7d"},
    "payment_method": {"payment_method"},
    "merchant_category": {"merchant_category"},
    "event_hour": {"hour_sin", "hour_cos"},
}


@pytest.fixture(scope="module")
def drifted_lake(tmp_path_factory):
    """The lake, its own Feast state and MLflow store, the champion of days 1-9, and the drift
    reports of the clean and drifted days (runs by day)."""
    root = tmp_path_factory.mktemp("drifted_platform")
    with build_materialized_lake(
        root, days=DAYS, rows_per_day=ROWS_PER_DAY, seed=SEED, drift_from=DRIFT_FROM
    ) as lake:
        defs, instance = lake.defs, lake.instance
        assert defs.resolve_job_def("feast_apply_job").execute_in_process(instance=instance).success
        first, last = CHAMPION_WINDOW
        run_training(lake, training_config(first_day=first, last_day=last))
        drift_job = defs.resolve_job_def("drift_job")
        reports = {
            report_day: drift_job.execute_in_process(partition_key=report_day, instance=instance)
            for report_day in (*CLEAN_DAYS, *DRIFTED_DAYS)
        }
        assert all(result.success for result in reports.values())
        yield lake, reports


def report_rows(lake, report_day: str) -> pd.DataFrame:
    table = lake.lake.read(DRIFT_METRICS_TABLE).to_pandas()
    return table[table["event_date"] == pd.Timestamp(report_day).date()].set_index("column")


def silver_payments(lake, first: str, last: str) -> int:
    """Payments the generator expects in silver on the days first..last."""
    truth = lake.truth.transactions
    days = truth["partition_date"]
    in_window = (days >= pd.Timestamp(first).date()) & (days <= pd.Timestamp(last).date())
    silver = in_window & (truth["expected_outcome"] == "silver")
    return truth.loc[silver, "transaction_id"].nunique()


def test_ground_truth_is_the_planned_drift(drifted_lake):
    lake, _ = drifted_lake
    summary = lake.truth.summary
    assert summary["drift_from"] == DRIFT_FROM.isoformat()
    assert set(summary["drifted_columns"]) == AFFECTED_BY.keys() == DETECTED_THROUGH.keys()
    assert [d for d in lake.days if summary["per_day"][d]["drifted"]] == lake.days[11:]


def test_clean_days_raise_no_critical_drift(drifted_lake):
    lake, reports = drifted_lake
    for clean_day in CLEAN_DAYS:
        assert not lake.truth.summary["per_day"][clean_day]["drifted"]
        rows = report_rows(lake, clean_day)
        assert worst_severity(rows["severity"]) != CRITICAL, rows["reason"].to_dict()
        evaluation = check_result(reports[clean_day])
        assert evaluation.passed
        assert evaluation.metadata["critical"].value == {}


def test_values_whose_window_reaches_before_the_lake_are_left_out(drifted_lake):
    """The reference holds a windowed feature only from the day its window is covered by the
    lake's history; the merchant features' 30 days never are in an 18-day lake."""
    lake, _ = drifted_lake
    first, last = CHAMPION_WINDOW
    everything = silver_payments(lake, first, last)
    for report_day in (*CLEAN_DAYS, *DRIFTED_DAYS):
        rows = report_rows(lake, report_day)
        day_payments = silver_payments(lake, report_day, report_day)
        for column in ("hour_cos", SCORE_COLUMN, "payment_method"):
            assert rows.loc[column, "reference_rows"] == everything
            assert rows.loc[column, "current_rows"] == day_payments
        for column, window in WINDOW_DAYS.items():
            complete_from = (FIRST_DAY + timedelta(days=window)).isoformat()
            if complete_from > last:
                assert rows.loc[column, "reference_rows"] == 0
                assert rows.loc[column, "severity"] == OK
                assert f"values before {complete_from} are left out" in rows.loc[column, "reason"]
            else:
                # counts are never null: every payment from that day on is in the reference
                if column.startswith("user_txn_count"):
                    expected = silver_payments(lake, complete_from, last)
                    assert rows.loc[column, "reference_rows"] == expected
                    assert rows.loc[column, "current_rows"] == day_payments
                assert not rows.loc[column, "reason"].startswith("not judged")


def test_drifted_days_flag_the_drifted_inputs_and_nothing_unrelated(drifted_lake):
    lake, reports = drifted_lake
    drifted_inputs = lake.truth.summary["drifted_columns"]
    may_move = {SCORE_COLUMN}.union(*(AFFECTED_BY[name] for name in drifted_inputs))
    for drifted_day in DRIFTED_DAYS:
        assert lake.truth.summary["per_day"][drifted_day]["drifted"]
        rows = report_rows(lake, drifted_day)
        flagged = set(rows.index[rows["severity"] != OK])
        critical = set(rows.index[rows["severity"] == CRITICAL])
        for name in drifted_inputs:
            assert flagged & DETECTED_THROUGH[name], (drifted_day, name, rows["severity"])
        assert critical, drifted_day
        assert critical <= may_move, (drifted_day, critical - may_move)
        evaluation = check_result(reports[drifted_day])
        assert not evaluation.passed
        assert set(evaluation.metadata["critical"].value) == critical


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A real HTTP server on a free local port, collecting what is posted to it."""
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    _Webhook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", _Webhook.received
    server.shutdown()
    server.server_close()


def pr_auc_of(tracking, version: str, rows: pd.DataFrame) -> float:
    """PR-AUC of a registered version on `rows`, scored here from the stored model."""
    with tracking.fluent_api():
        model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{version}")
    features = list(model.feature_names_in_)
    scores = model.predict_proba(rows[features].astype("float64"))[:, 1]
    return float(average_precision_score(rows[LABEL].to_numpy(), scores))


def test_retrain_loop_on_real_drift(drifted_lake, webhook):
    """critical drift -> failed checks -> sensor: one alert per drifted day, recorded and
    posted, one training request -> the challenger is trained and scored against the champion
    on the same days -> the champion alias is where the rule puts it."""
    url, received = webhook
    lake, reports = drifted_lake
    tracking = lake.defs.resources["tracking"]
    client = tracking.client()
    champion_before = str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version)

    first, last = RETRAIN_WINDOW
    alerts = AlertResource(
        webhook_url=url,
        retrain_run_config_json=json.dumps(training_config(first_day=first, last_day=last)),
    )
    resources = {"lake": lake.lake, "alerts": alerts}
    with build_sensor_context(instance=lake.instance, resources=resources) as context:
        result = drift_alert_sensor(context)
    (request,) = result.run_requests
    assert request.tags["monitoring.trigger"] == "critical_drift"
    assert request.tags["monitoring.days"] == ",".join(DRIFTED_DAYS)
    recorded = lake.lake.read(DRIFT_ALERTS_TABLE).to_pandas().set_index("event_date")
    assert sorted(recorded.index) == list(DRIFTED_DAYS)  # the clean days passed: no alert
    for drifted_day in DRIFTED_DAYS:
        alert = recorded.loc[drifted_day]
        rows = report_rows(lake, drifted_day)
        assert alert["check_run_id"] == reports[drifted_day].run_id
        assert json.loads(alert["critical_columns"]).keys() == set(
            rows.index[rows["severity"] == CRITICAL]
        )
        assert alert["champion_version"] == champion_before
        assert alert["webhook"] == "HTTP 204"
        assert alert["retrain_run_key"] == request.run_key
    assert sorted(post["event_date"] for post in received) == list(DRIFTED_DAYS)
    assert {post["event"] for post in received} == {"critical_drift"}
    # each failure alerts once: the next tick, from the cursor, requests nothing
    with build_sensor_context(
        instance=lake.instance, resources=resources, cursor=result.cursor
    ) as context:
        assert not drift_alert_sensor(context).run_requests

    retrain = lake.defs.resolve_job_def(request.job_name or "training_job").execute_in_process(
        instance=lake.instance, run_config=request.run_config, tags=request.tags
    )
    assert retrain.success
    model = metadata(retrain, MODEL_KEY)
    assert model["evaluation_days"] == ", ".join(DRIFTED_DAYS)
    challenger = model["registered_model"].rsplit("v", 1)[1]
    assert int(challenger) == int(champion_before) + 1
    run = client.get_run(model["mlflow_run_id"])
    assert run.data.tags["champion.previous_version"] == champion_before

    # the rule, recomputed: both models scored here on the challenger's evaluation rows
    version = int(run.data.tags["training_set.delta_version"])
    rows = lake.lake.open(TRAINING_SET_TABLE, version).to_pandas()
    rows = rows[rows["event_timestamp"].dt.strftime("%Y-%m-%d").isin(DRIFTED_DAYS)]
    assert rows[LABEL].sum() > 0
    challenger_pr_auc = pr_auc_of(tracking, challenger, rows)
    champion_pr_auc = pr_auc_of(tracking, champion_before, rows)
    assert challenger_pr_auc == pytest.approx(run.data.metrics["pr_auc"], abs=1e-12)
    assert champion_pr_auc == pytest.approx(
        float(run.data.tags["champion.previous_pr_auc"]), abs=5e-7
    )
    promoted = challenger_pr_auc > champion_pr_auc
    assert model["champion_decision"] == ("promoted" if promoted else "kept")
    champion_after = str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
    assert champion_after == (challenger if promoted else champion_before)
