"""Databases the services profile keeps on the machine's PostgreSQL server."""

import contextlib

import psycopg2
from psycopg2 import errors, sql


def postgres_url(host: str, port: int, user: str, password: str, database: str) -> str:
    """A SQLAlchemy URL (psycopg2 driver). It may hold the password: never log it."""
    credentials = f"{user}:{password}" if password else user
    return f"postgresql+psycopg2://{credentials}@{host}:{port}/{database}"


def ensure_database(host: str, port: int, user: str, password: str, database: str) -> None:
    """Create `database` on the server unless it exists (Feast and MLflow create their
    tables, not their database)."""
    connection = psycopg2.connect(
        host=host, port=port, user=user, password=password, dbname="postgres", connect_timeout=10
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (database,))
            if cursor.fetchone() is None:
                # a concurrent run may create it in the meantime
                with contextlib.suppress(errors.DuplicateDatabase):
                    cursor.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    finally:
        connection.close()
