"""The platform-generate command, and a scale smoke test."""

import time

import pytest

from fraud_generator import GroundTruth
from fraud_generator.cli import main

from .landing_reader import physical_lines


def test_cli_writes_landing_and_reports(tmp_path, capsys):
    landing = tmp_path / "landing"
    argv = ["--out", str(landing), "--start", "2024-01-01", "--days", "2", "--rows-per-day", "400",
            "--format", "csv", "--defects", "--drift-from", "2024-01-02", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    report = capsys.readouterr()
    assert "2 day(s), 800 transactions" in report.out
    assert "_ground_truth" in report.out
    assert report.err == ""  # --quiet: no progress bars
    truth = GroundTruth.load(landing)
    assert truth.summary["config"]["file_format"] == "csv"
    assert truth.summary["drift_from"] == "2024-01-02"
    assert {p.suffix for p in (landing / "transactions").glob("*/*")} == {".csv"}


def test_cli_shows_progress_unless_quiet(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--start", "2024-01-01", "--rows-per-day", "300"]) == 0
    assert "days" in capsys.readouterr().err


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--start", "2024-01-01", "--fraud-rate", "0.9"])
    assert "fraud_rate" in capsys.readouterr().err


def test_scale_smoke_50k_rows(tmp_path):
    started = time.perf_counter()
    assert main(["--out", str(tmp_path), "--start", "2024-06-01", "--rows-per-day", "50000",
                 "--files-per-day", "4", "--quiet"]) == 0  # fmt: skip
    assert time.perf_counter() - started < 20
    truth = GroundTruth.load(tmp_path)
    files = truth.summary["files"]
    transaction_files = [f for f in files if f["path"].startswith("transactions/")]
    assert sum(f["rows"] for f in transaction_files) == 50_000
    for record in transaction_files:
        data_lines = len(physical_lines(tmp_path / record["path"])) - (record["format"] == "csv")
        assert data_lines == record["rows"]
    assert len(truth.transactions) == 50_000
