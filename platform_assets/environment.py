"""The one place that decides which environment the platform runs in.

`local` (the default) needs no server: Delta tables on the local disk, Dagster storage in
SQLite under DAGSTER_HOME. `services` keeps the lake on S3-compatible storage and Dagster's
storage in PostgreSQL. Secrets are not read here: resources take them through `EnvVar`, so
their values never appear in Dagster's config or metadata.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

EnvironmentName = Literal["local", "services"]
ENVIRONMENTS: tuple[EnvironmentName, ...] = ("local", "services")


@dataclass(frozen=True)
class PlatformSettings:
    environment: EnvironmentName
    landing_root: Path
    lake_root: str
    """A local folder, or `s3://bucket/prefix` in the services profile."""


def current_environment() -> EnvironmentName:
    name = os.environ.get("PLATFORM_ENV", "local").strip().lower() or "local"
    if name not in ENVIRONMENTS:
        raise ValueError(f"PLATFORM_ENV={name!r} is not one of {', '.join(ENVIRONMENTS)}")
    return name  # type: ignore[return-value]


def platform_settings() -> PlatformSettings:
    environment = current_environment()
    data_dir = Path(os.environ.get("PLATFORM_DATA_DIR", "data")).resolve()
    landing_root = Path(os.environ.get("PLATFORM_LANDING_ROOT", data_dir / "landing")).resolve()
    if environment == "services":
        lake_root = os.environ.get("PLATFORM_LAKE_URI", "s3://fraud-platform/lake")
    else:
        lake_root = os.environ.get("PLATFORM_LAKE_URI", str(data_dir / "lake"))
    return PlatformSettings(environment, landing_root, lake_root)
