from datetime import date, timedelta

import pytest

from fraud_generator import GeneratorConfig, GroundTruth, generate

# The window spans the EU daylight-saving switch of 2024-03-31.
START = date(2024, 3, 29)
DRIFT_FROM = START + timedelta(days=2)
LATE_AS_OF = START + timedelta(days=45)  # every chargeback of the window is known


@pytest.fixture(scope="session")
def clean(tmp_path_factory) -> GroundTruth:
    """Four clean days, drift from the third, all chargebacks known."""
    config = GeneratorConfig(
        out_dir=tmp_path_factory.mktemp("clean") / "landing",
        start=START,
        days=4,
        rows_per_day=2000,
        files_per_day=3,
        drift_from=DRIFT_FROM,
        as_of=LATE_AS_OF,
    )
    return generate(config)


@pytest.fixture(scope="session")
def defective(tmp_path_factory) -> GroundTruth:
    """Two days with every row- and file-level defect; three files per day so the
    timestamp warnings land in both a JSONL and a CSV file."""
    config = GeneratorConfig(
        out_dir=tmp_path_factory.mktemp("defective") / "landing",
        start=START,
        days=2,
        rows_per_day=1500,
        files_per_day=3,
        defects=True,
        as_of=LATE_AS_OF,
    )
    return generate(config)
