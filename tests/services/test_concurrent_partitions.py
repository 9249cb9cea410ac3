"""The services profile end to end: three partitions of `daily_lake_job` queued at once on
the PostgreSQL-backed instance, run side by side by `dagster-daemon` (each run's steps in
their own processes: the multiprocess executor), into Delta tables on S3."""

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    EventLogRecord,
    RunRecord,
    RunsFilter,
    build_resources,
)
from dagster_postgres import PostgresEventLogStorage

from fraud_generator import GeneratorConfig, GroundTruth, generate
from platform_assets.environment import REPO_ROOT
from platform_assets.ingest.bronze import LANDING_DATE_COLUMN
from platform_assets.ingest.parsing import LINE_COLUMN
from platform_assets.ingest.sources import CHARGEBACKS, PARTITIONED_SOURCES, TRANSACTIONS
from platform_assets.jobs import daily_lake_job, lake_keys
from platform_assets.resources import LakeResource, platform_resources
from platform_assets.tables import table_path
from tests.services.conftest import VENV_BIN, PostgresDatabase, server_process, services_profile

pytestmark = pytest.mark.services

FIRST_DAY = date(2024, 1, 1)
DAYS = [FIRST_DAY + timedelta(days=offset) for offset in range(3)]
PARTITION_KEYS = [day.isoformat() for day in DAYS]
JOB_ASSET_KEYS = [key for source in PARTITIONED_SOURCES for key in lake_keys(source)]
QUARANTINE_KEYS = [key for key in JOB_ASSET_KEYS if key.path[-1].endswith("_quarantine")]
# A liveness bound, not a speed target: each step process imports the whole code location
# (Dagster, dbt, Feast, MLflow), which takes tens of seconds on a loaded 2-core machine.
RUNS_TIMEOUT_SECONDS = 420
BACKFILL_TAG = "services_test/backfill"
WORKSPACE = REPO_ROOT / "workspace.yaml"


# No generated repr: the resolved S3 resource in `lake` would print its secret key.
@dataclass(repr=False)
class Backfill:
    root: Path
    truth: GroundTruth
    instance: DagsterInstance
    runs: list[RunRecord]
    lake: LakeResource
    secret_values: list[str]

    def runs_by_partition(self) -> dict[str, RunRecord]:
        return {record.dagster_run.tags["dagster/partition"]: record for record in self.runs}


@pytest.fixture(scope="module")
def backfill(tmp_path_factory, postgres_database, s3_server) -> Iterator[Backfill]:
    """Generate three days of landing files, queue one run per day and wait for all of them.
    The services environment stays set while this module's tests read the results."""
    root = tmp_path_factory.mktemp("backfill")
    with services_profile(root, s3_server, postgres_database) as settings:
        truth = generate(
            GeneratorConfig(
                out_dir=settings.landing_root, start=FIRST_DAY, days=len(DAYS), rows_per_day=200
            )
        )
        backfill_id = uuid.uuid4().hex
        daemon = [str(VENV_BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)]
        log_path = root / "daemon.log"
        with (
            DagsterInstance.get() as instance,
            server_process(daemon, dict(os.environ), log_path),
        ):
            queue_partitions(backfill_id)
            runs = wait_for_runs(instance, backfill_id, log_path)
            with build_resources(platform_resources(settings)) as resources:
                yield Backfill(
                    root,
                    truth,
                    instance,
                    runs,
                    resources.lake,
                    secret_values=[s3_server.secret_access_key, os.environ["CARD_TOKEN_KEY"]],
                )


def queue_partitions(backfill_id: str) -> None:
    """`dagster job backfill`: one queued run per partition, for the daemon to launch."""
    command = [
        str(VENV_BIN / "dagster"),
        *("job", "backfill", "-w", str(WORKSPACE), "-j", daily_lake_job.name),
        *("--partitions", ",".join(PARTITION_KEYS), "--noprompt"),
        *("--tags", json.dumps({BACKFILL_TAG: backfill_id})),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def wait_for_runs(instance: DagsterInstance, backfill_id: str, log_path: Path) -> list[RunRecord]:
    deadline = time.monotonic() + RUNS_TIMEOUT_SECONDS
    while True:
        records = instance.get_run_records(RunsFilter(tags={BACKFILL_TAG: backfill_id}))
        if len(records) == len(DAYS) and all(r.dagster_run.is_finished for r in records):
            return records
        if time.monotonic() > deadline:
            statuses = [record.dagster_run.status.value for record in records]
            daemon_log = log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"runs did not finish: {statuses}\ndaemon log:\n{daemon_log}")
        time.sleep(1)


def test_every_partition_ran_at_the_same_time_and_succeeded(backfill):
    assert sorted(backfill.runs_by_partition()) == PARTITION_KEYS
    assert {record.dagster_run.status for record in backfill.runs} == {DagsterRunStatus.SUCCESS}
    last_start = max(record.start_time for record in backfill.runs)
    first_end = min(record.end_time for record in backfill.runs)
    assert last_start < first_end, "the runs did not overlap"


def test_each_run_went_through_the_queue_of_the_run_coordinator(backfill):
    for record in backfill.runs:
        assert run_events(backfill, record, DagsterEventType.RUN_ENQUEUED)


def test_each_run_executed_every_step_in_a_worker_process_of_its_own(backfill):
    for record in backfill.runs:
        workers = run_events(backfill, record, DagsterEventType.STEP_WORKER_STARTED)
        steps = run_events(backfill, record, DagsterEventType.STEP_SUCCESS)
        assert len(steps) > 1
        assert step_keys(workers) == step_keys(steps)


def run_events(
    backfill: Backfill, record: RunRecord, event_type: DagsterEventType
) -> list[EventLogRecord]:
    return backfill.instance.get_records_for_run(
        record.dagster_run.run_id, of_type=event_type
    ).records


def step_keys(records: list[EventLogRecord]) -> list[str]:
    return sorted(record.event_log_entry.step_key for record in records)


def test_the_postgres_event_log_holds_every_partition_materialization(
    backfill, postgres_database: PostgresDatabase
):
    assert isinstance(backfill.instance.event_log_storage, PostgresEventLogStorage)
    for key in JOB_ASSET_KEYS:
        assert backfill.instance.get_materialized_partitions(key) == set(PARTITION_KEYS), key
    with postgres_database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT run_id, count(*) FROM event_logs "
            "WHERE dagster_event_type = 'ASSET_MATERIALIZATION' GROUP BY run_id"
        )
        per_run = dict(cursor.fetchall())
    assert per_run == {record.dagster_run.run_id: len(JOB_ASSET_KEYS) for record in backfill.runs}


def test_the_delta_tables_on_s3_hold_exactly_the_generated_rows(backfill):
    assert backfill.lake.root.startswith("s3://")
    transactions = backfill.truth.transactions
    chargebacks = backfill.truth.chargebacks
    assert (transactions["expected_outcome"] == "silver").all(), "the input should be clean"
    for day in DAYS:
        landed = transactions[transactions["partition_date"] == day]
        bronze = backfill.lake.read_partition("bronze/transactions", LANDING_DATE_COLUMN, day)
        bronze_lines = bronze.select(["_source_file", LINE_COLUMN]).to_pandas()
        assert lines(bronze_lines) == lines(landed[["source_file", "line"]])
        silver = partition_values("silver/transactions", TRANSACTIONS, day, backfill.lake)
        assert silver == sorted(landed["transaction_id"])

        reported = chargebacks[chargebacks["reported_at"].dt.date == day]
        silver = partition_values("silver/chargebacks", CHARGEBACKS, day, backfill.lake)
        assert silver == sorted(reported["transaction_id"])
    # Nothing outside the three partitions, and nothing quarantined from clean input.
    assert backfill.lake.read("silver/transactions").num_rows == len(transactions)
    assert backfill.lake.read("silver/chargebacks").num_rows == len(chargebacks)
    for key in QUARANTINE_KEYS:
        assert backfill.lake.read(table_path(key)).num_rows == 0, key


def lines(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """(file, line) pairs of a frame with those two columns."""
    return sorted(frame.itertuples(index=False, name=None))


def partition_values(table: str, source, day: date, lake: LakeResource) -> list[str]:
    rows = lake.read_partition(table, source.partition_date_column, day)
    return sorted(rows[source.key].to_pylist())


def test_each_run_reports_the_delta_version_it_committed(backfill):
    history = {
        commit["version"]: commit for commit in backfill.lake.open("silver/transactions").history()
    }
    for partition, record in backfill.runs_by_partition().items():
        version = materialization_metadata(backfill, record, AssetKey(["silver", "transactions"]))[
            "delta_version"
        ]
        assert f"'{partition}'" in history[version.value]["operationParameters"]["predicate"]


def materialization_metadata(backfill: Backfill, record: RunRecord, key: AssetKey) -> dict:
    events = run_events(backfill, record, DagsterEventType.ASSET_MATERIALIZATION)
    (materialization,) = [
        event.asset_materialization
        for event in events
        if event.asset_materialization.asset_key == key
    ]
    return materialization.metadata


def test_no_secret_reaches_the_run_storage_or_any_log(backfill, postgres_database):
    with postgres_database.connect() as connection, connection.cursor() as cursor:
        for secret in backfill.secret_values:
            cursor.execute(
                "SELECT (SELECT count(*) FROM event_logs WHERE strpos(event, %(secret)s) > 0)"
                " + (SELECT count(*) FROM runs WHERE strpos(run_body, %(secret)s) > 0)",
                {"secret": secret},
            )
            assert cursor.fetchone()[0] == 0
    # DAGSTER_HOME (compute logs of every step), the daemon's log and the landing files.
    for path in backfill.root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(secret.encode() in content for secret in backfill.secret_values), path
