"""Partitioning shared by every daily table: one partition per UTC event date."""

from dagster import DailyPartitionsDefinition

# Fixed start so generated history (tests use 2024 dates) and the nightly schedule share one
# partition space; `end_offset=0` keeps today's partial day out until it is over.
daily_partitions = DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")
