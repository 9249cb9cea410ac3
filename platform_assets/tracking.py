"""MLflow tracking as a Dagster resource: where runs and their artifacts are kept.

`local`: a SQLite file and an artifact folder under the data dir. `services`: a PostgreSQL
database on the platform's server (created on first use) and artifacts on S3. The backend URI
may hold the PostgreSQL password: it is built inside the resource and never logged.

MLflow is imported by the methods that talk to it, not with this module: every Dagster step
process loads the code location, and importing MLflow takes about a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource

from platform_assets.environment import PlatformSettings
from platform_assets.postgres import PostgresDatabase

if TYPE_CHECKING:
    import mlflow
    from mlflow.tracking import MlflowClient


class TrackingResource(ConfigurableResource):
    """Logs runs to the platform's MLflow tracking store."""

    sqlite_path: str | None = None
    backend: PostgresDatabase | None = None
    """Services profile: the backend database; None means the local SQLite file."""
    artifact_root: str

    def tracking_uri(self) -> str:
        if self.backend:
            return self.backend.url()
        return f"sqlite:///{self.sqlite_path}"

    def client(self) -> MlflowClient:
        from mlflow.tracking import MlflowClient

        if self.backend:
            self.backend.ensure_exists()
        elif self.sqlite_path:
            Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        # The model registry lives in the same store; without saying so MLflow would use its
        # process-wide default (a mlflow.db in the working directory).
        return MlflowClient(tracking_uri=self.tracking_uri(), registry_uri=self.tracking_uri())

    def experiment_id(self, client: MlflowClient, name: str) -> str:
        """The experiment's id, created with its artifacts under `artifact_root/<name>`."""
        from mlflow.exceptions import MlflowException

        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return client.create_experiment(name, artifact_location=self._artifacts(name))
        except MlflowException:
            # created by a concurrent run in the meantime
            return client.get_experiment_by_name(name).experiment_id

    def log_run(
        self,
        experiment: str,
        run_name: str,
        params: Mapping[str, object],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
    ) -> str:
        """One finished run with its params, metrics and tags; returns its id."""
        from mlflow.entities import Metric, Param, RunTag

        client = self.client()
        run = client.create_run(
            self.experiment_id(client, experiment), run_name=run_name, tags=dict(tags)
        )
        now_ms = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(name, float(value), now_ms, 0) for name, value in metrics.items()],
            params=[Param(name, str(value)) for name, value in params.items()],
            tags=[RunTag(name, str(value)) for name, value in tags.items()],
        )
        client.set_terminated(run.info.run_id)
        return run.info.run_id

    @contextmanager
    def fluent_api(self) -> Iterator[None]:
        """Point MLflow's fluent API (`mlflow.log_*`, `mlflow.sklearn.load_model`,
        `mlflow.register_model`) at this store, tracking and registry, for the block's
        duration; the previous targets are restored afterwards."""
        import mlflow

        self.client()  # creates the database or folder on first use
        previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
        mlflow.set_tracking_uri(self.tracking_uri())
        mlflow.set_registry_uri(self.tracking_uri())
        try:
            yield
        finally:
            mlflow.set_tracking_uri(previous[0])
            mlflow.set_registry_uri(previous[1])

    @contextmanager
    def active_run(
        self, experiment: str, run_name: str, tags: Mapping[str, str]
    ) -> Iterator[mlflow.ActiveRun]:
        """A run of `experiment` for the fluent API (see `fluent_api`). It ends FINISHED, or
        FAILED if the block raises."""
        import mlflow

        experiment_id = self.experiment_id(self.client(), experiment)
        with (
            self.fluent_api(),
            mlflow.start_run(
                experiment_id=experiment_id, run_name=run_name, tags=dict(tags)
            ) as run,
        ):
            yield run

    def _artifacts(self, experiment: str) -> str:
        root = self.artifact_root.rstrip("/")
        if "://" in root:
            return f"{root}/{experiment}"
        path = Path(root) / experiment
        path.mkdir(parents=True, exist_ok=True)
        return path.resolve().as_uri()


def tracking_resource(settings: PlatformSettings) -> TrackingResource:
    tracking = settings.tracking
    return TrackingResource(
        sqlite_path=str(tracking.sqlite_path) if tracking.sqlite_path else None,
        backend=(
            PostgresDatabase.on(settings.postgres, tracking.backend_database)
            if tracking.backend_database
            else None
        ),
        artifact_root=tracking.artifact_root,
    )
