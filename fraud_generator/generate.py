"""`generate`: write a landing folder and its ground truth, one day at a time."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from fraud_generator.chargebacks import Chargebacks, simulate_chargebacks, write_chargebacks
from fraud_generator.config import GeneratorConfig
from fraud_generator.defects import SCHEMA_CHANGES
from fraud_generator.events import DRIFTED_COLUMNS, FRAUD_PATTERNS, DayEvents, simulate_day
from fraud_generator.layout import DayPlan, FilePlan, plan_day
from fraud_generator.truth import (
    CHARGEBACKS_TRUTH,
    SUMMARY,
    TRANSACTION_TRUTH_SCHEMA,
    TRANSACTIONS_TRUTH,
    TRUTH_DIR,
    GroundTruth,
    transaction_truth,
)
from fraud_generator.world import build_world, reference_tables
from fraud_generator.writer import (
    output_columns,
    transaction_id_width,
    write_table,
    write_transaction_files,
)

GENERATED_FOLDERS = ("transactions", "chargebacks", "reference", TRUTH_DIR)


def _prepare_landing(landing: Path) -> None:
    """Replace a previous generator output; never touch folders someone else wrote."""
    previous_run = (landing / TRUTH_DIR / SUMMARY).exists()
    foreign = [name for name in GENERATED_FOLDERS if (landing / name).exists()]
    if foreign and not previous_run:
        raise FileExistsError(
            f"{landing} already has {', '.join(foreign)} not written by the generator "
            "(no _ground_truth/summary.json); choose an empty or new folder"
        )
    for name in foreign:
        shutil.rmtree(landing / name)
    landing.mkdir(parents=True, exist_ok=True)


def _day_summary(plan: DayPlan, events: DayEvents, outcomes: dict[str, int], drifted: bool) -> dict:
    patterns = Counter(events.fraud_pattern[events.is_fraud].tolist())
    return {
        "rows": events.size,
        "source_lines": plan.source_lines,
        "frauds": int(events.is_fraud.sum()),
        "fraud_patterns": {name: patterns[i] for i, name in enumerate(FRAUD_PATTERNS)},
        "defects": plan.defect_counts(),
        "expected_outcomes": dict(sorted(outcomes.items())),
        "drifted": drifted,
        "rejected": plan.rejected,
    }


def _rejected_file(plan: FilePlan, day: date) -> dict:
    change = SCHEMA_CHANGES[plan.schema_defect]
    return {
        "path": plan.path,
        "partition_date": day.isoformat(),
        "schema_defect": plan.schema_defect,
        "expected_outcome": "rejects_batch",
        "missing_columns": sorted(change),
        "added_columns": sorted(name for name in change.values() if name),
        "columns": [name for name, _ in output_columns(plan)],
    }


def generate(config: GeneratorConfig) -> GroundTruth:
    """Write `config.out_dir` (the landing folder) and its `_ground_truth/`."""
    landing = config.out_dir
    _prepare_landing(landing)
    (landing / TRUTH_DIR).mkdir()
    world = build_world(config)
    width = transaction_id_width(config.rows_per_day)
    files = [
        write_table(landing, path, "csv", table) for path, table in reference_tables(world).items()
    ]
    per_day, chargebacks = {}, []
    empty_files, redelivered_files, rejected_files = [], [], []
    truth_path = landing / TRUTH_DIR / TRANSACTIONS_TRUTH
    with pq.ParquetWriter(truth_path, TRANSACTION_TRUTH_SCHEMA) as truth_writer:
        for day in tqdm(config.dates, desc="days", unit="day", disable=not config.progress):
            events = simulate_day(world, config, day)
            plan = plan_day(events, config)
            with tqdm(
                total=plan.source_lines,
                desc=day.isoformat(),
                unit="lines",
                leave=False,
                disable=not config.progress,
            ) as progress:
                files += write_transaction_files(
                    landing, plan.files + plan.empty_files, events, world, width, progress
                )
            truth = transaction_truth(plan, events, world, width)
            truth_writer.write_table(truth)
            outcomes = {
                item["values"]: item["counts"]
                for item in pc.value_counts(truth["expected_outcome"]).to_pylist()
            }
            per_day[day.isoformat()] = _day_summary(plan, events, outcomes, config.is_drifted(day))
            chargebacks.append(
                simulate_chargebacks(events, plan.events_expected_in_silver(), world, config)
            )
            empty_files += [f.path for f in plan.empty_files]
            redelivered_files += [
                {"path": f.path, "original": f.copy_of.path} for f in plan.files if f.copy_of
            ]
            rejected_files += [_rejected_file(f, day) for f in plan.files if f.schema_defect]

    all_chargebacks = Chargebacks.concat(chargebacks)
    chargeback_files, chargeback_truth = write_chargebacks(
        landing, all_chargebacks, config.chargebacks_known_until, width
    )
    pq.write_table(chargeback_truth, landing / TRUTH_DIR / CHARGEBACKS_TRUTH)
    summary = {
        "config": config.to_json(),
        "days": [day.isoformat() for day in config.dates],
        "per_day": per_day,
        "drift_from": config.drift_from.isoformat() if config.drift_from else None,
        "drifted_columns": DRIFTED_COLUMNS if config.drift_from else [],
        "fraud_patterns": list(FRAUD_PATTERNS),
        "chargebacks": {
            "written": chargeback_truth.num_rows,
            "reported_after_as_of": len(all_chargebacks.reported_ms) - chargeback_truth.num_rows,
        },
        "files": files + chargeback_files,
        "empty_files": empty_files,
        "redelivered_files": redelivered_files,
        "rejected_files": rejected_files,
    }
    (landing / TRUTH_DIR / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    return GroundTruth(landing, summary)
