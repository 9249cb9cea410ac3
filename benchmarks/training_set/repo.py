"""The Feast registries the contenders read: `feast apply` of the real `feature_repo/`
definitions over the benchmark's Delta tables, done once per data folder, never timed.

- `platform`: the platform's own feature_store.yaml (the DuckDB-over-Delta offline store),
  through the platform's `FeastResource`, as the Dagster resource opens it.
- `file`: the same definitions (same Delta `FileSource`s, views, on-demand view and
  services) with `offline_store: {type: file}`: Feast's file (dask) offline store, as a user
  would configure it. The file store has no Delta reader: it hands the source's folder to
  `dask.dataframe.read_parquet`, which reads the table's Parquet files and skips
  `_delta_log/`. That gives the right rows only while no file has been removed from the table;
  the benchmark's tables are written once (version 0), so it reads exactly the rows the
  others read.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

PLATFORM = "platform"
FILE = "file"


def registry_folder(data: Path, kind: str) -> Path:
    return data / f"feast-{kind}"


@contextmanager
def platform_data_dir(data: Path) -> Iterator[None]:
    """The local profile with `data` as the platform's data folder (its lake: `data/lake`)."""
    names = ("PLATFORM_ENV", "PLATFORM_DATA_DIR", "PLATFORM_LAKE_URI")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(PLATFORM_ENV="local", PLATFORM_DATA_DIR=str(data))
    os.environ.pop("PLATFORM_LAKE_URI", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def file_store_yaml(state: Path) -> dict:
    """feature_store.yaml of the file-store contender: the platform's, offline store `file`,
    Feast's stock SQLite online store (never used here)."""
    from platform_assets.feature_store.repo import FEATURE_REPO

    raw = yaml.safe_load((FEATURE_REPO / "feature_store.yaml").read_text())
    raw["registry"]["path"] = str(state / "registry.db")
    raw["online_store"] = {"type": "sqlite", "path": str(state / "online_store.db")}
    raw.pop("batch_engine", None)
    raw["offline_store"] = {"type": "file"}
    return raw


def open_store(state: Path, kind: str):
    """The contender's `FeatureStore` on the registry in `state`."""
    from feast import FeatureStore, RepoConfig

    from platform_assets.feature_store.repo import FEATURE_REPO, FeastResource

    if kind == PLATFORM:
        return FeastResource(state_dir=str(state)).store()
    config = RepoConfig(**file_store_yaml(state))
    config.repo_path = FEATURE_REPO
    return FeatureStore(repo_path=str(FEATURE_REPO), config=config)


def prepare_registries(data: Path) -> None:
    """Apply the definitions into each kind's registry folder (skipped when done)."""
    from platform_assets.feature_store.registry import apply_definitions, load_definitions
    from platform_assets.feature_store.repo import FEATURE_REPO

    for kind in (PLATFORM, FILE):
        state = registry_folder(data, kind)
        if (state / "applied").exists():
            continue
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir(parents=True)
        with platform_data_dir(data):
            store = open_store(state, kind)
            apply_definitions(store, load_definitions(FEATURE_REPO))
        (state / "applied").write_text("ok\n")


def copy_registry(data: Path, kind: str, out: Path) -> Path:
    """A private copy of the kind's registry folder under `out` (the contender's state)."""
    state = out / "feast"
    shutil.copytree(registry_folder(data, kind), state)
    return state
