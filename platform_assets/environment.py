"""The one place that decides which environment the platform runs in.

`local` (the default) needs no server: Delta tables on the local disk, Dagster storage in
SQLite under DAGSTER_HOME. `services` keeps the lake on S3-compatible storage and Dagster's
storage in PostgreSQL. Secrets are not read here: resources take them through `EnvVar`, so
their values never appear in Dagster's config or metadata.
"""

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EnvironmentName = Literal["local", "services"]
ENVIRONMENTS: tuple[EnvironmentName, ...] = ("local", "services")
WarehouseTarget = Literal["duckdb", "postgres"]
WAREHOUSE_TARGETS: tuple[WarehouseTarget, ...] = ("duckdb", "postgres")
REPO_ROOT = Path(__file__).resolve().parent.parent
# Anchored at the checkout, not the working directory: `feast apply` runs from feature_repo/
# and must find the same tables as the demo run from the root.
_DEFAULT_DATA_DIR = REPO_ROOT / "data"
_WAREHOUSE_FILE = Path("warehouse/fraud.duckdb")  # under the data dir


@dataclass(frozen=True)
class WarehouseSettings:
    """Where the gold layer (dbt) builds its tables: the dbt target and its connection.

    `duckdb` (default of `local`) is a file; `postgres` (default of `services`) is a database
    on the Dagster PostgreSQL server (DAGSTER_PG_HOST/PORT/USER; the password is read by the
    resource through `EnvVar`), named by PLATFORM_WAREHOUSE_DB (default `warehouse`).
    """

    target: WarehouseTarget = "duckdb"
    duckdb_path: Path = field(
        default_factory=lambda: (_DEFAULT_DATA_DIR / _WAREHOUSE_FILE).resolve()
    )
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_database: str = "warehouse"


@dataclass(frozen=True)
class PostgresServer:
    """The PostgreSQL server of the services profile (DAGSTER_PG_HOST/PORT/USER); the
    password (DAGSTER_PG_PASSWORD) is read by resources through `EnvVar`, never here."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"


@dataclass(frozen=True)
class FeastSettings:
    """Which feature_store.yaml the platform uses, and where its local state lives.

    `local`: feature_store.yaml, registry file and SQLite online store under
    `<data dir>/feast`. `services`: feature_store.services.yaml, the SQL registry in the
    PostgreSQL database PLATFORM_FEAST_DB (default `feast_registry`), the online store on
    Redis at PLATFORM_REDIS (default `127.0.0.1:6379`).
    """

    config_file: str = "feature_store.yaml"
    state_dir: Path | None = None
    registry_database: str | None = None
    redis: str | None = None
    project: str | None = None
    """Overrides the yaml's project (PLATFORM_FEAST_PROJECT), e.g. to keep tests apart."""


@dataclass(frozen=True)
class TrackingSettings:
    """Where MLflow keeps runs: a SQLite file locally, or the PostgreSQL database
    PLATFORM_MLFLOW_DB (default `mlflow`) in services; artifacts in a folder or on S3."""

    backend_database: str | None = None
    """PostgreSQL database name (services); None means the local SQLite file."""
    sqlite_path: Path | None = None
    artifact_root: str = ""


@dataclass(frozen=True)
class PlatformSettings:
    environment: EnvironmentName
    landing_root: Path
    lake_root: str
    """A local folder, or `s3://bucket/prefix` in the services profile."""
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    feast: FeastSettings = field(default_factory=FeastSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    postgres: PostgresServer = field(default_factory=PostgresServer)
    alert_webhook: str | None = None
    """PLATFORM_ALERT_WEBHOOK: where drift alerts are posted (JSON), if set."""


def current_environment() -> EnvironmentName:
    name = os.environ.get("PLATFORM_ENV", "local").strip().lower() or "local"
    if name not in ENVIRONMENTS:
        raise ValueError(f"PLATFORM_ENV={name!r} is not one of {', '.join(ENVIRONMENTS)}")
    return name  # type: ignore[return-value]


def platform_settings() -> PlatformSettings:
    environment = current_environment()
    data_dir = Path(os.environ.get("PLATFORM_DATA_DIR", _DEFAULT_DATA_DIR)).resolve()
    landing_root = Path(os.environ.get("PLATFORM_LANDING_ROOT", data_dir / "landing")).resolve()
    if environment == "services":
        lake_root = os.environ.get("PLATFORM_LAKE_URI", "s3://fraud-platform/lake")
    else:
        lake_root = os.environ.get("PLATFORM_LAKE_URI", str(data_dir / "lake"))
    return PlatformSettings(
        environment,
        landing_root,
        lake_root,
        warehouse_settings(environment, data_dir),
        feast_settings(environment, data_dir),
        tracking_settings(environment, data_dir, lake_root),
        postgres_server(),
        alert_webhook=os.environ.get("PLATFORM_ALERT_WEBHOOK") or None,
    )


def postgres_server() -> PostgresServer:
    return PostgresServer(
        host=os.environ.get("DAGSTER_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("DAGSTER_PG_PORT", "5432")),
        user=os.environ.get("DAGSTER_PG_USER", "postgres"),
    )


def feast_settings(environment: EnvironmentName, data_dir: Path) -> FeastSettings:
    project = os.environ.get("PLATFORM_FEAST_PROJECT") or None
    if environment == "services":
        return FeastSettings(
            config_file="feature_store.services.yaml",
            registry_database=os.environ.get("PLATFORM_FEAST_DB", "feast_registry"),
            redis=os.environ.get("PLATFORM_REDIS", "127.0.0.1:6379"),
            project=project,
        )
    return FeastSettings(state_dir=data_dir / "feast", project=project)


def tracking_settings(
    environment: EnvironmentName, data_dir: Path, lake_root: str
) -> TrackingSettings:
    if environment == "services":
        bucket_root = lake_root.rstrip("/").rsplit("/", 1)[0]
        return TrackingSettings(
            backend_database=os.environ.get("PLATFORM_MLFLOW_DB", "mlflow"),
            artifact_root=os.environ.get("PLATFORM_MLFLOW_ARTIFACTS", f"{bucket_root}/mlflow"),
        )
    return TrackingSettings(
        sqlite_path=data_dir / "mlflow" / "mlflow.db",
        artifact_root=os.environ.get("PLATFORM_MLFLOW_ARTIFACTS", str(data_dir / "mlflow")),
    )


def s3_options_from_environment(uri: str) -> dict[str, str] | None:
    """deltalake options for an `s3://` uri read by code outside Dagster's resources (Feast's
    offline store): deltalake takes endpoint and keys from the AWS_* variables itself, but
    refuses a plain-http endpoint (a local S3 server) unless told."""
    if not uri.startswith("s3://"):
        return None
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    return {"AWS_ALLOW_HTTP": "true"} if endpoint.startswith("http://") else None


def warehouse_settings(environment: EnvironmentName, data_dir: Path) -> WarehouseSettings:
    default_target = "postgres" if environment == "services" else "duckdb"
    target = os.environ.get("PLATFORM_WAREHOUSE_TARGET", default_target).strip().lower()
    if target not in WAREHOUSE_TARGETS:
        raise ValueError(
            f"PLATFORM_WAREHOUSE_TARGET={target!r} is not one of {', '.join(WAREHOUSE_TARGETS)}"
        )
    duckdb_path = os.environ.get("PLATFORM_WAREHOUSE_PATH", data_dir / _WAREHOUSE_FILE)
    server = postgres_server()
    return WarehouseSettings(
        target=target,  # type: ignore[arg-type]
        duckdb_path=Path(duckdb_path).resolve(),
        postgres_host=server.host,
        postgres_port=server.port,
        postgres_user=server.user,
        postgres_database=os.environ.get("PLATFORM_WAREHOUSE_DB", "warehouse"),
    )


_INSTANCE_CONFIG = {"local": "dagster.yaml", "services": "dagster.services.yaml"}


def prepare_dagster_home() -> Path:
    """Create $DAGSTER_HOME (default `.dagster_home`) holding this environment's dagster.yaml."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / _INSTANCE_CONFIG[current_environment()], home / "dagster.yaml")
    return home


def ensure_local_card_token_key(env_file: Path = REPO_ROOT / ".env") -> None:
    """Give a local checkout its own random tokenization key, kept in `.env`.

    `dagster dev` loads `.env` from the working directory, so the UI and the demo
    tokenize with the same key. A key already in the environment always wins.
    """
    if os.environ.get("CARD_TOKEN_KEY"):
        return
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "CARD_TOKEN_KEY" and value.strip():
                os.environ["CARD_TOKEN_KEY"] = value.strip()
                return
    key = secrets.token_hex(32)
    with env_file.open("a") as env:
        env.write(f"CARD_TOKEN_KEY={key}\n")
    env_file.chmod(0o600)
    os.environ["CARD_TOKEN_KEY"] = key
