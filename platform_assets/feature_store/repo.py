"""The Feast feature store as a Dagster resource: `feature_repo/` with this profile's yaml.

The definitions in `feature_repo/` are the same for every profile; the resource picks the
profile's feature_store.yaml and points its state where the platform keeps it: the local
registry file and SQLite store under `<data dir>/feast`, or, in services, the SQL registry
database and the Redis server from the platform's settings.

Feast is imported where a store is opened, not with this module: the code location (every
Dagster step process) loads this module, most steps never open a store, and importing Feast
takes seconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from dagster import ConfigurableResource

from platform_assets.environment import REPO_ROOT, FeastSettings, PlatformSettings
from platform_assets.postgres import PostgresDatabase

if TYPE_CHECKING:
    from feast import FeatureStore, RepoConfig

FEATURE_REPO = REPO_ROOT / "feature_repo"


class FeastResource(ConfigurableResource):
    """Opens `FeatureStore`s on the platform's feature repository."""

    repo_path: str = str(FEATURE_REPO)
    config_file: str = "feature_store.yaml"
    state_dir: str | None = None
    """Local profile: folder of the registry file and the SQLite online store."""
    project: str | None = None
    registry_database: PostgresDatabase | None = None
    """Services profile: the SQL registry's PostgreSQL database."""
    redis: str | None = None

    def repo_config(self) -> RepoConfig:
        from feast import RepoConfig

        config = RepoConfig(**self.raw_config())
        config.repo_path = Path(self.repo_path)
        return config

    def feature_store_yaml(self) -> str:
        """The resolved feature_store.yaml, e.g. for `feast` commands run by the platform
        (in FEATURE_STORE_YAML_BASE64). It may hold the registry's password."""
        return yaml.safe_dump(self.raw_config(), sort_keys=False)

    def raw_config(self) -> dict:
        """This profile's yaml with the platform's locations filled in."""
        path = Path(self.repo_path) / self.config_file
        raw = yaml.safe_load(os.path.expandvars(path.read_text()))
        if self.project:
            raw["project"] = self.project
        if self.state_dir:
            state = Path(self.state_dir)
            raw["registry"]["path"] = str(state / "registry.db")
            raw["online_store"]["path"] = str(state / "online_store.db")
        if self.registry_database:
            raw["registry"]["path"] = self.registry_database.url()
        if self.redis:
            raw["online_store"]["connection_string"] = self.redis
        return raw

    def prepare(self) -> None:
        """Create what Feast expects to exist: the state folder or the registry database."""
        if self.state_dir:
            Path(self.state_dir).mkdir(parents=True, exist_ok=True)
        if self.registry_database:
            self.registry_database.ensure_exists()

    def store(self) -> FeatureStore:
        from feast import FeatureStore

        self.prepare()
        return FeatureStore(repo_path=self.repo_path, config=self.repo_config())


def feast_resource(settings: PlatformSettings) -> FeastResource:
    feast: FeastSettings = settings.feast
    return FeastResource(
        config_file=feast.config_file,
        state_dir=str(feast.state_dir) if feast.state_dir else None,
        project=feast.project,
        registry_database=(
            PostgresDatabase.on(settings.postgres, feast.registry_database)
            if feast.registry_database
            else None
        ),
        redis=feast.redis,
    )
