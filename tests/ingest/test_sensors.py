"""The landing sensor requests runs for exactly the partitions whose files changed."""

import json
import os

from dagster import build_sensor_context

from platform_assets.ingest.sensors import landing_files_sensor, plan_runs
from platform_assets.resources import LandingResource
from tests.records import jsonl, transaction


def drop(root, relative, data=None):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if data is not None else jsonl(transaction(1)))
    return path


def test_new_files_request_one_run_per_partition(tmp_path):
    drop(tmp_path, "transactions/2024-01-02/a.jsonl")
    drop(tmp_path, "transactions/2024-01-02/b.jsonl", jsonl(transaction(2)))
    drop(tmp_path, "transactions/2024-01-03/a.jsonl")
    drop(tmp_path, "reference/users/users.csv", b"user_id\n")
    drop(tmp_path, "_ground_truth/summary.json", b"{}")
    runs, state = plan_runs(tmp_path, {})
    assert [(r.source.name, r.partition_key) for r in runs] == [
        ("transactions", "2024-01-02"),
        ("transactions", "2024-01-03"),
        ("users", None),
    ]
    assert runs[0].changed_files == (
        "transactions/2024-01-02/a.jsonl",
        "transactions/2024-01-02/b.jsonl",
    )
    assert len(state) == 4  # the ground truth is not a landing file


def test_unchanged_or_touched_files_request_nothing(tmp_path):
    path = drop(tmp_path, "transactions/2024-01-02/a.jsonl")
    _, state = plan_runs(tmp_path, {})
    os.utime(path, ns=(1, 1))  # same content, new mtime: re-hashed, no run
    runs, _ = plan_runs(tmp_path, state)
    assert runs == []


def test_changed_content_gets_a_new_run_key_and_removal_a_run(tmp_path):
    path = drop(tmp_path, "transactions/2024-01-02/a.jsonl")
    drop(tmp_path, "transactions/2024-01-02/b.jsonl", jsonl(transaction(2)))
    first, state = plan_runs(tmp_path, {})
    path.write_bytes(jsonl(transaction(1, amount=1.0)))
    changed, state = plan_runs(tmp_path, state)
    assert len(changed) == 1 and changed[0].run_key != first[0].run_key
    (tmp_path / "transactions/2024-01-02/b.jsonl").unlink()
    removed, _ = plan_runs(tmp_path, state)
    assert removed[0].changed_files == ("transactions/2024-01-02/b.jsonl",)


def test_folder_that_is_not_a_partition_is_looked_at_again_later(tmp_path):
    drop(tmp_path, "transactions/2019-12-31/a.jsonl")  # before the first partition
    drop(tmp_path, "transactions/not-a-date/a.jsonl")
    runs, state = plan_runs(tmp_path, {})
    assert runs == [] and state == {}


def test_sensor_yields_run_requests_and_persists_its_cursor(tmp_path):
    drop(tmp_path, "chargebacks/2024-01-05/c.jsonl", b'{"transaction_id": "tx-1"}\n')
    landing = LandingResource(root=str(tmp_path))
    context = build_sensor_context(resources={"landing": landing})
    requests = list(landing_files_sensor(context))
    assert len(requests) == 1
    request = requests[0]
    assert request.partition_key == "2024-01-05" and request.job_name == "daily_lake_job"
    assert {key.to_user_string() for key in request.asset_selection} == {
        "bronze/chargebacks",
        "bronze/chargebacks_quarantine",
        "silver/chargebacks",
        "silver/chargebacks_quarantine",
    }
    cursor = context.cursor
    assert "chargebacks/2024-01-05/c.jsonl" in json.loads(cursor)
    again = build_sensor_context(resources={"landing": landing}, cursor=cursor)
    assert [type(r).__name__ for r in landing_files_sensor(again)] == ["SkipReason"]
