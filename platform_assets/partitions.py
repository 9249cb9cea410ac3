"""Partitioning shared by every daily table: one partition per UTC event date."""

import warnings

from dagster import BetaWarning, DailyPartitionsDefinition, PreviewWarning

# Asset checks of partitioned assets are partitioned too (a Dagster preview feature, used
# on purpose so each partition keeps its own check verdict): no warning on every import.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=PreviewWarning
)
# Single-run backfills of a partition range (beta in Dagster 1.13) are used on purpose too.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

# Fixed start so generated history (tests use 2024 dates) and the nightly schedule share one
# partition space; `end_offset=0` keeps today's partial day out until it is over.
daily_partitions = DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")
