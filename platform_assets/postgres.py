"""Databases the services profile keeps on the machine's PostgreSQL server."""

import contextlib

import psycopg2
from dagster import Config, EnvVar
from psycopg2 import errors, sql

from platform_assets.environment import PostgresServer

# Read by resources through `EnvVar` only, so the secret never reaches config or metadata.
POSTGRES_PASSWORD_ENV = "DAGSTER_PG_PASSWORD"


class PostgresDatabase(Config):
    """One database on the platform's PostgreSQL server (created on first use)."""

    host: str
    port: int
    user: str
    password: str = ""
    database: str

    @classmethod
    def on(cls, server: PostgresServer, database: str) -> "PostgresDatabase":
        return cls(
            host=server.host,
            port=server.port,
            user=server.user,
            password=EnvVar(POSTGRES_PASSWORD_ENV),
            database=database,
        )

    def url(self) -> str:
        """A SQLAlchemy URL (psycopg2 driver). It may hold the password: never log it."""
        credentials = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgresql+psycopg2://{credentials}@{self.host}:{self.port}/{self.database}"

    def ensure_exists(self) -> None:
        """Feast and MLflow create their tables, not their database."""
        connection = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            connect_timeout=10,
        )
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("select 1 from pg_database where datname = %s", (self.database,))
                if cursor.fetchone() is None:
                    # a concurrent run may create it in the meantime
                    with contextlib.suppress(errors.DuplicateDatabase):
                        cursor.execute(
                            sql.SQL("create database {}").format(sql.Identifier(self.database))
                        )
        finally:
            connection.close()
