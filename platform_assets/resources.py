"""Dagster resources: where the lake and the landing zone live, and the tokenization key.

`platform_resources()` builds them for the current environment (see `environment.py`).
"""

import time
from contextlib import suppress
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from dagster import ConfigurableResource, EnvVar, InitResourceContext, ResourceDependency
from dagster_aws.s3 import S3Resource
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from platform_assets.environment import PlatformSettings, platform_settings
from platform_assets.ingest.tokenization import CardTokenizer

# Concurrent partitions of one table commit to the same Delta log; delta-rs rejects a commit
# that raced another one, and a predicate overwrite is idempotent, so it is safe to retry.
_COMMIT_ATTEMPTS = 8


class LakeResource(ConfigurableResource):
    """Delta tables under `root` (a local folder or `s3://bucket/prefix`)."""

    root: str
    s3: ResourceDependency[S3Resource | None] = None

    def table_uri(self, table: str) -> str:
        return f"{self.root.rstrip('/')}/{table}"

    def storage_options(self) -> dict[str, str] | None:
        if self.s3 is None:
            return None
        options = {
            "AWS_REGION": self.s3.region_name or "us-east-1",
            # Commits are put-if-absent, so two writers can never both create the same log
            # entry. deltalake 1.x already commits that way on S3; saying so here keeps an
            # upgrade from falling back to a lock-free rename (AWS_S3_ALLOW_UNSAFE_RENAME).
            "AWS_CONDITIONAL_PUT": "etag",
        }
        if self.s3.endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.s3.endpoint_url
            options["AWS_ALLOW_HTTP"] = str(self.s3.endpoint_url.startswith("http://")).lower()
        if self.s3.aws_access_key_id:
            options["AWS_ACCESS_KEY_ID"] = self.s3.aws_access_key_id
        if self.s3.aws_secret_access_key:
            options["AWS_SECRET_ACCESS_KEY"] = self.s3.aws_secret_access_key
        return options

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Once per step, before any read: while the bucket does not exist, S3 reads fail
        # instead of finding no table, and a step looks its tables up before committing.
        self.ensure_storage()

    def ensure_storage(self) -> None:
        """Create the bucket (S3) or folder (local) the lake lives in."""
        if self.s3 is None:
            Path(self.root).mkdir(parents=True, exist_ok=True)
            return
        bucket = self.root.removeprefix("s3://").split("/", 1)[0]
        client = self.s3.get_client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            # A concurrent run may have created it since the listing.
            with suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)

    def open(self, table: str, version: int | None = None) -> DeltaTable | None:
        try:
            return DeltaTable(
                self.table_uri(table), version=version, storage_options=self.storage_options()
            )
        except TableNotFoundError:
            return None

    def version(self, table: str) -> int | None:
        delta_table = self.open(table)
        return None if delta_table is None else delta_table.version()

    def read(self, table: str, filters=None, columns: list[str] | None = None) -> pa.Table | None:
        """The table's rows matching `filters` (a pyarrow expression), or None if no table."""
        delta_table = self.open(table)
        if delta_table is None:
            return None
        return delta_table.to_pyarrow_dataset().to_table(filter=filters, columns=columns)

    def read_partition(self, table: str, partition_column: str, day: date) -> pa.Table | None:
        delta_table = self.open(table)
        if delta_table is None:
            return None
        return delta_table.to_pyarrow_dataset().to_table(filter=pc.field(partition_column) == day)

    def replace_partition(
        self, table: str, rows: pa.Table, partition_column: str, day: date
    ) -> int:
        """Replace exactly one partition (and nothing else); returns the version committed."""
        return self.replace_partitions(table, rows, partition_column, day, day)

    def replace_partitions(
        self, table: str, rows: pa.Table, partition_column: str, first: date, last: date
    ) -> int:
        """Replace the partitions `first`..`last` (inclusive) in one commit; the new version."""
        predicate = (
            f"{partition_column} >= '{first.isoformat()}' "
            f"AND {partition_column} <= '{last.isoformat()}'"
        )
        return self._commit(table, rows, partition_by=[partition_column], predicate=predicate)

    def replace_key(self, table: str, rows: pa.Table, partition_column: str, key: str) -> int:
        """Replace the one partition whose string column `partition_column` equals `key`."""
        quoted = key.replace("'", "''")
        predicate = f"{partition_column} = '{quoted}'"
        return self._commit(table, rows, partition_by=[partition_column], predicate=predicate)

    def replace_table(self, table: str, rows: pa.Table) -> int:
        return self._commit(table, rows, partition_by=None, predicate=None)

    def _commit(self, table, rows, partition_by, predicate) -> int:
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                # Written through an open table, which ends at the version this write
                # committed: re-reading the table could return a concurrent writer's later one.
                delta_table = DeltaTable.create(
                    self.table_uri(table),
                    schema=rows.schema,
                    partition_by=partition_by,
                    mode="ignore",
                    storage_options=self.storage_options(),
                    # Only ever version 0: a creator that lost the race must not re-commit its
                    # (possibly older) schema on top; it retries and finds the table instead.
                    commit_properties=CommitProperties(max_commit_retries=0),
                )
                write_deltalake(
                    delta_table,
                    rows,
                    mode="overwrite",
                    partition_by=partition_by,
                    predicate=predicate,
                    schema_mode="merge" if predicate is None else None,
                )
                return delta_table.version()
            except CommitFailedError:
                if attempt == _COMMIT_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")


class LandingResource(ConfigurableResource):
    """The folder where source systems drop files (see docs/landing-contract.md)."""

    root: str

    def partition_files(self, source: str, day: date) -> list[Path]:
        return visible_files(Path(self.root) / source / day.isoformat())

    def reference_files(self, source: str) -> list[Path]:
        return visible_files(Path(self.root) / "reference" / source)

    def relative_name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def visible_files(folder: Path) -> list[Path]:
    """Data files of a landing folder in name order; `_`/`.` names are not data."""
    if not folder.is_dir():
        return []
    return sorted(
        path for path in folder.iterdir() if path.is_file() and not path.name.startswith(("_", "."))
    )


class CardTokenizerResource(ConfigurableResource):
    """Keyed hashing of card numbers; the key comes from the CARD_TOKEN_KEY env var."""

    key: str

    def tokenizer(self) -> CardTokenizer:
        return CardTokenizer(self.key.encode())


def platform_resources(settings: PlatformSettings | None = None) -> dict:
    settings = settings or platform_settings()
    s3 = None
    if settings.lake_root.startswith("s3://"):
        s3 = S3Resource(
            endpoint_url=EnvVar("AWS_ENDPOINT_URL"),
            region_name=EnvVar("AWS_REGION"),
            aws_access_key_id=EnvVar("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=EnvVar("AWS_SECRET_ACCESS_KEY"),
        )
    return {
        "lake": LakeResource(root=settings.lake_root, s3=s3),
        "landing": LandingResource(root=str(settings.landing_root)),
        "card_tokenizer": CardTokenizerResource(key=EnvVar("CARD_TOKEN_KEY")),
    }
