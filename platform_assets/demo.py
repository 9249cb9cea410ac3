"""`platform-demo`: the README's demo on the embedded default (no servers).

Generates a few days of landing data (with injected defects, so the quarantine has
something to show), materializes every asset for those partitions into the Dagster
instance under $DAGSTER_HOME (lake tables day by day; gold, feature tables and the Feast
online store as one backfill run each over the days, after `feast apply`), reads one user's
features back through the Feast SDK, trains the fraud model on those days, and prints what
was built and where to look.

Chargebacks (the fraud labels) arrive up to 30 days after the payment, so a model can only
learn from payments at least that old: the demo's days end LABEL_DELAY_DAYS before yesterday,
and the lake also takes in the chargebacks reported on every day since, up to yesterday.
"""

import argparse
import textwrap
from datetime import UTC, date, datetime, timedelta

from dagster import DagsterInstance, MetadataValue
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from platform_assets.environment import (
    ensure_local_card_token_key,
    platform_settings,
    prepare_dagster_home,
)

DEMO_DAYS = 3
DEMO_ROWS_PER_DAY = 5_000
LABEL_DELAY_DAYS = 30
# Step-level events are in the UI; the terminal gets warnings and the summary.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=DEMO_DAYS)
    parser.add_argument("--rows-per-day", type=int, default=DEMO_ROWS_PER_DAY)
    parser.add_argument(
        "--prepare-only", action="store_true", help="only set up DAGSTER_HOME and the key"
    )
    args = parser.parse_args(argv)

    home = prepare_dagster_home()
    ensure_local_card_token_key()
    if args.prepare_only:
        return
    settings = platform_settings()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    first_day = yesterday - timedelta(days=LABEL_DELAY_DAYS + args.days - 1)
    _generate_if_missing(settings.landing_root, first_day, args.days, args.rows_per_day, yesterday)

    # Imported after the environment is prepared: definitions read it at import time.
    from platform_assets.definitions import defs

    instance = DagsterInstance.get()
    print("Materializing reference_lake_job (users, merchants) ...")
    reference = defs.resolve_job_def("reference_lake_job")
    results = [reference.execute_in_process(instance=instance, run_config=_QUIET)]
    daily = defs.resolve_job_def("daily_lake_job")
    for offset in range(args.days):
        day = (first_day + timedelta(days=offset)).isoformat()
        print(f"Materializing daily_lake_job for {day} ...")
        results.append(
            daily.execute_in_process(
                partition_key=day, instance=instance, run_config=_QUIET, raise_on_error=False
            )
        )
    _ingest_later_chargebacks(defs, instance, first_day + timedelta(days=args.days), yesterday)
    last_day_key = (first_day + timedelta(days=args.days - 1)).isoformat()
    for job_name in ("daily_gold_job", "daily_features_job", "feast_apply_job", "online_store_job"):
        job = defs.resolve_job_def(job_name)
        if job.partitions_def is None:
            print(f"Materializing {job_name} ...")
            results.append(
                job.execute_in_process(instance=instance, run_config=_QUIET, raise_on_error=False)
            )
            continue
        print(f"Materializing {job_name} for {first_day}..{last_day_key} (one run) ...")
        results.append(
            job.execute_in_process(
                instance=instance,
                run_config=_QUIET,
                tags={
                    ASSET_PARTITION_RANGE_START_TAG: first_day.isoformat(),
                    ASSET_PARTITION_RANGE_END_TAG: last_day_key,
                },
                raise_on_error=False,
            )
        )
    # Re-evaluated now: the verdicts in the summary are each run's, and the chargebacks taken
    # in since have made silver/chargebacks fresh.
    freshness = defs.resolve_job_def("freshness_job").execute_in_process(
        instance=instance, run_config=_QUIET, raise_on_error=False
    )
    note = _freshness_note(freshness, date.fromisoformat(last_day_key), yesterday)
    _print_summary(results, settings, home, note)
    if all(result.success for result in results):
        _show_online_features(defs)
        _train_model(defs, instance, first_day, last_day_key, yesterday)


def _generate_if_missing(
    landing_root, first_day: date, days: int, rows_per_day: int, chargebacks_until: date
) -> None:
    if (landing_root / "transactions").is_dir():
        print(f"Landing data already in {landing_root}; not generating.")
        return
    from fraud_generator import GeneratorConfig, generate

    print(f"Generating {days} days x {rows_per_day:,} transactions into {landing_root} ...")
    generate(
        GeneratorConfig(
            out_dir=landing_root,
            start=first_day,
            days=days,
            rows_per_day=rows_per_day,
            seed=7,
            defects=True,
            as_of=chargebacks_until,
            progress=True,
        )
    )


def _ingest_later_chargebacks(defs, instance, first: date, last: date) -> None:
    """The chargebacks reported after the demo's days (one lake run per reported day)."""
    from platform_assets.ingest.sources import CHARGEBACKS
    from platform_assets.jobs import lake_keys

    print(f"Materializing the chargebacks reported {first}..{last} (one run per day) ...")
    job = defs.resolve_job_def("daily_lake_job")
    day = first
    while day <= last:
        result = job.execute_in_process(
            partition_key=day.isoformat(),
            instance=instance,
            run_config=_QUIET,
            asset_selection=lake_keys(CHARGEBACKS),
            raise_on_error=False,
        )
        if not result.success:
            raise SystemExit(f"The chargebacks of {day} failed: see the messages above.")
        day += timedelta(days=1)


def _print_summary(results, settings, home, note: str) -> None:
    print()
    print(f"{'asset':<42}{'partition':<12}{'rows':>9}{'quarantined':>13}  checks")
    failed = False
    for result in results:
        failed |= not result.success
        checks: dict[str, list[str]] = {}
        for evaluation in result.get_asset_check_evaluations():
            verdict = "ok" if evaluation.passed else f"FAILED({evaluation.severity.value})"
            checks.setdefault(evaluation.asset_key.to_user_string(), []).append(
                f"{evaluation.check_name}:{verdict}"
            )
        for materialization in result.get_asset_materialization_events():
            event = materialization.event_specific_data.materialization
            name = event.asset_key.to_user_string()
            if name.endswith("_quarantine"):
                continue
            metadata = event.metadata
            rows = metadata.get("dagster/row_count") or metadata.get("entities_pushed")
            if rows is None and "rows_per_day" in metadata:
                rows = MetadataValue.int(metadata["rows_per_day"].value[event.partition])
            quarantined = metadata.get("rows_quarantined")
            print(
                f"{name:<42}{event.partition or '-':<12}"
                f"{rows.value if rows else '-':>9}{quarantined.value if quarantined else '-':>13}"
                f"  {', '.join(checks.get(name, []))}"
            )
    print()
    print(note)
    print()
    print(f"Lake (Delta tables): {settings.lake_root}")
    print(f"Landing files:       {settings.landing_root}")
    warehouse = settings.warehouse
    gold_location = (
        warehouse.duckdb_path if warehouse.target == "duckdb" else warehouse.postgres_database
    )
    print(f"Gold (dbt, {warehouse.target}): {gold_location}")
    print(f"Feast:               feature_repo/ ({settings.feast.config_file})")
    tracking = settings.tracking
    print(f"MLflow:              {tracking.sqlite_path or tracking.backend_database}")
    print(f"Dagster instance:    {home}")
    print("Open the UI with `make ui`, then http://127.0.0.1:3000 (see README: what to look at).")
    if failed:
        raise SystemExit("Some runs failed: see the messages above.")


def _freshness_note(freshness, data_ends: date, yesterday: date) -> str:
    """The verdicts of a `freshness_job` run, and why the demo's daily tables are stale: the
    check is right, the data is old on purpose."""
    from platform_assets.monitoring.freshness import FRESHNESS_DEADLINE_CRON

    verdicts = {
        evaluation.asset_key.to_user_string(): evaluation.passed
        for evaluation in freshness.get_asset_check_evaluations()
    }
    stale = sorted(name for name, passed in verdicts.items() if not passed)
    fresh = sorted(name for name, passed in verdicts.items() if passed)
    if not stale:
        return f"freshness_check now (freshness_job): ok on {', '.join(fresh)}."
    text = f"freshness_check now (freshness_job): FAILED(WARN) on {', '.join(stale)}"
    text += f"; ok on {', '.join(fresh)}. " if fresh else ". "
    text += (
        "The check judges each daily table against today's date: from its deadline (cron "
        f"'{FRESHNESS_DEADLINE_CRON}' UTC) a table must hold yesterday's partition ({yesterday}). "
        f"The demo's payments end on {data_ends}, {(yesterday - data_ends).days} days before "
        f"yesterday, so that their chargebacks (the fraud labels, up to {LABEL_DELAY_DAYS} days "
        "late) have arrived; only the chargebacks are loaded up to yesterday. The verdicts in "
        "the table above are the same check as each run finished. On a live platform "
        "nightly_lake_schedule (02:00 UTC) loads yesterday's partition every night, and "
        "features_after_lake_sensor and online_store_after_features_sensor refresh the feature "
        "tables and the online store after it: switched on in the UI, they keep these checks "
        "passing."
    )
    return textwrap.fill(text, width=100)


def _show_online_features(defs) -> None:
    """One user's features as inference code reads them: the Feast SDK and a feature service."""
    import pyarrow.compute as pc

    from platform_assets.features.assets import USER_FEATURES
    from platform_assets.tables import table_path

    lake = defs.resources["lake"]
    store = defs.resources["feast"].store()
    latest = lake.read(table_path(USER_FEATURES.key), columns=["user_id", "event_timestamp"])
    newest = pc.index(latest["event_timestamp"], pc.max(latest["event_timestamp"])).as_py()
    user = latest["user_id"][newest]
    response = store.get_online_features(
        features=store.get_feature_service("fraud_model_v2"),
        entity_rows=[
            {
                "user_id": user.as_py(),
                "merchant_id": "m00001",
                "amount": 120.0,
                "transaction_time": datetime.now(UTC),
            }
        ],
    ).to_dict()
    print()
    print(f"Online features of {user} (feature service fraud_model_v2, Feast SDK):")
    for name, values in response.items():
        print(f"  {name:<32}{values[0]}")


def _train_model(defs, instance, first_day: date, last_day: str, yesterday: date) -> None:
    """training_job on the demo's days, with the labels as the lake knows them today."""
    cutoff = datetime.combine(yesterday + timedelta(days=1), datetime.min.time(), UTC)
    labels = {"first_day": first_day.isoformat(), "last_day": last_day}
    print()
    print(f"Training the fraud model on {first_day}..{last_day}, labels as of {cutoff} ...")
    result = defs.resolve_job_def("training_job").execute_in_process(
        instance=instance,
        run_config={
            **_QUIET,
            "ops": {"training__labels": {"config": {**labels, "label_cutoff": cutoff.isoformat()}}},
        },
        raise_on_error=False,
    )
    if not result.success:
        raise SystemExit("Training failed: see the messages above.")
    (model,) = [
        event.event_specific_data.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.event_specific_data.materialization.asset_key.to_user_string() == "training/model"
    ]
    print(
        f"ROC-AUC {model['roc_auc'].value:.3f} and PR-AUC {model['pr_auc'].value:.3f} on the "
        f"held-out day {model['evaluation_days'].value} (trained on {model['train_days'].value}); "
        f"precision {model['precision_at_alert_rate'].value:.2f} and recall "
        f"{model['recall_at_alert_rate'].value:.2f} when 1% of payments alert"
    )
    print(
        f"MLflow run {model['mlflow_run_id'].value}: {model['registered_model'].value}, "
        f"{model['champion_decision'].value} as champion ({model['champion_reason'].value})"
    )
    print(
        f"Rebuild its training set: .venv/bin/platform-reproduce-training-set "
        f"{model['mlflow_run_id'].value}"
    )
