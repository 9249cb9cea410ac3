"""Where the gold layer builds: the dbt target and its connection, and the vars dbt gets."""

from datetime import date, timedelta
from pathlib import Path

import psycopg2
from dagster import ConfigurableResource, EnvVar, TimeWindow

from platform_assets.environment import WarehouseSettings
from platform_assets.postgres import POSTGRES_PASSWORD_ENV

# The dbt profile (dbt/profiles.yml) reads the Postgres password from POSTGRES_PASSWORD_ENV
# itself, so the secret never travels on dbt's command line or into its artifacts.


class WarehouseResource(ConfigurableResource):
    """The dbt target (`duckdb` file or `postgres` database) the gold models are built in."""

    target: str
    duckdb_path: str
    postgres_host: str
    postgres_port: int
    postgres_user: str
    postgres_database: str
    postgres_password: str = ""

    def connection_vars(self) -> dict[str, str | int]:
        """The target's connection settings as dbt vars (no secret among them)."""
        if self.target == "duckdb":
            return {"duckdb_path": self.duckdb_path}
        return {
            "postgres_host": self.postgres_host,
            "postgres_port": self.postgres_port,
            "postgres_user": self.postgres_user,
            "postgres_database": self.postgres_database,
        }

    def prepare(self) -> None:
        """Make sure the DuckDB file's folder exists (dbt creates the file, not the folder)."""
        if self.target == "duckdb":
            Path(self.duckdb_path).parent.mkdir(parents=True, exist_ok=True)

    def connect_postgres(self):
        return psycopg2.connect(
            host=self.postgres_host,
            port=self.postgres_port,
            user=self.postgres_user,
            password=self.postgres_password,
            dbname=self.postgres_database,
            connect_timeout=10,
        )


def warehouse_resource(settings: WarehouseSettings) -> WarehouseResource:
    return WarehouseResource(
        target=settings.target,
        duckdb_path=str(settings.duckdb_path),
        postgres_host=settings.postgres_host,
        postgres_port=settings.postgres_port,
        postgres_user=settings.postgres_user,
        postgres_database=settings.postgres_database,
        # Only the postgres target needs (and may require) the password to be set.
        postgres_password=EnvVar(POSTGRES_PASSWORD_ENV) if settings.target == "postgres" else "",
    )


def window_days(window: TimeWindow) -> tuple[date, date]:
    """First and last UTC day (inclusive) of a daily partition window (its end is exclusive)."""
    return window.start.date(), (window.end - timedelta(days=1)).date()


def dbt_vars(first: date, last: date, lake_root: str, connection_vars: dict) -> dict:
    """The `--vars` of a dbt run over the days `first`..`last` (inclusive)."""
    return {
        "min_date": first.isoformat(),
        "max_date": last.isoformat(),
        "lake_root": lake_root,
        **connection_vars,
    }
