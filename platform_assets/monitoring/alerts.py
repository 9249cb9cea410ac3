"""Drift alerts: a sensor on the `no_critical_drift` check of `monitoring/drift_report`.

For every new failed evaluation of the check (a day with critical drift) it records an alert in
the Delta table `monitoring/drift_alerts`, posts it as JSON to the webhook if one is configured
(PLATFORM_ALERT_WEBHOOK), and requests one run of `training_job`: the model asset trains a
challenger and its champion/challenger gate decides whether it replaces the champion. The
sensor's cursor is the id of the last check execution it handled, so each failure alerts and
retrains once.
"""

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pyarrow as pa
from dagster import (
    AssetCheckKey,
    ConfigurableResource,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from deltalake import write_deltalake
from pydantic import Field

from platform_assets.environment import PlatformSettings
from platform_assets.jobs import training_job
from platform_assets.monitoring.assets import DRIFT_CHECK, DRIFT_REPORT_KEY
from platform_assets.resources import LakeResource

DRIFT_CHECK_KEY = AssetCheckKey(DRIFT_REPORT_KEY, DRIFT_CHECK)
DRIFT_ALERTS_TABLE = "monitoring/drift_alerts"
HISTORY_LIMIT = 100
ALERT_SCHEMA = pa.schema(
    [
        ("alerted_at", pa.timestamp("us", tz="UTC")),
        ("event_date", pa.string()),
        ("check_run_id", pa.string()),
        ("check_execution_id", pa.int64()),
        ("critical_columns", pa.string()),
        ("drift_mlflow_run_id", pa.string()),
        ("champion_version", pa.string()),
        ("webhook", pa.string()),
        ("retrain_run_key", pa.string()),
    ]
)


class AlertResource(ConfigurableResource):
    """Where drift alerts go and how the retraining run is configured."""

    webhook_url: str | None = Field(
        default=None, description="POST each alert as JSON here (PLATFORM_ALERT_WEBHOOK)."
    )
    webhook_timeout_seconds: float = 5.0
    retrain_run_config_json: str = Field(
        default="{}",
        description="Run config (JSON) of the training_job run a critical drift requests; "
        "{} trains on every silver day with labels as known now.",
    )

    def retrain_run_config(self) -> dict:
        return json.loads(self.retrain_run_config_json)

    def post(self, alert: dict) -> str:
        """Posts the alert; returns what happened (the alert is recorded either way)."""
        if not self.webhook_url:
            return "not configured"
        request = urllib.request.Request(
            self.webhook_url,
            data=json.dumps(alert).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.webhook_timeout_seconds) as reply:
                return f"HTTP {reply.status}"
        except (urllib.error.URLError, OSError) as error:
            return f"failed: {error}"


def alert_resource(settings: PlatformSettings) -> AlertResource:
    return AlertResource(webhook_url=settings.alert_webhook)


def record_alerts(lake: LakeResource, alerts: list[dict]) -> None:
    rows = pa.Table.from_pylist(alerts, schema=ALERT_SCHEMA)
    write_deltalake(
        lake.table_uri(DRIFT_ALERTS_TABLE),
        rows,
        mode="append",
        storage_options=lake.storage_options(),
    )


def _alert(record, run_key: str) -> dict:
    evaluation = record.event.dagster_event.event_specific_data
    metadata = {name: value.value for name, value in evaluation.metadata.items()}
    return {
        "alerted_at": datetime.now(UTC),
        "event_date": record.partition,
        "check_run_id": record.run_id,
        "check_execution_id": record.id,
        "critical_columns": json.dumps(metadata.get("critical", {})),
        "drift_mlflow_run_id": metadata.get("mlflow_run_id"),
        "champion_version": metadata.get("champion_version"),
        "webhook": None,
        "retrain_run_key": run_key,
    }


@sensor(
    name="drift_alert_sensor",
    job=training_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="On a failed no_critical_drift check: record the alert (monitoring/"
    "drift_alerts), post it to the webhook if configured, and request training_job (the "
    "champion/challenger gate decides promotion).",
)
def drift_alert_sensor(context: SensorEvaluationContext, lake: LakeResource, alerts: AlertResource):
    after = int(context.cursor or 0)
    history = context.instance.event_log_storage.get_asset_check_execution_history(
        DRIFT_CHECK_KEY, limit=HISTORY_LIMIT, status={AssetCheckExecutionRecordStatus.FAILED}
    )
    new = sorted((r for r in history if r.id > after and r.event is not None), key=lambda r: r.id)
    if not new:
        return SensorResult(run_requests=[], cursor=str(after))
    latest = new[-1]
    run_key = f"drift-retrain-{latest.run_id}-{latest.id}"
    recorded = []
    for record in new:
        alert = _alert(record, run_key)
        payload = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in alert.items()}
        alert["webhook"] = alerts.post({"event": "critical_drift", **payload})
        context.log.warning(
            "critical drift on %s: %s (webhook: %s)",
            alert["event_date"],
            alert["critical_columns"],
            alert["webhook"],
        )
        recorded.append(alert)
    record_alerts(lake, recorded)
    # one retraining covers every day that alerted since the last tick
    request = RunRequest(
        run_key=run_key,
        run_config=alerts.retrain_run_config(),
        tags={
            "monitoring.trigger": "critical_drift",
            "monitoring.days": ",".join(sorted({str(a["event_date"]) for a in recorded})),
            "monitoring.check_run_id": latest.run_id,
        },
    )
    return SensorResult(run_requests=[request], cursor=str(latest.id))
