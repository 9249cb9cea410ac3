"""The dbt project and its manifest, which set-up builds (`make dbt-manifest`), never an import."""

import sys
from pathlib import Path

from dagster_dbt import DbtProject

from platform_assets.environment import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt"
# The venv's own dbt, so the Dagster process and dbt share one set of installed adapters.
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"


class ManifestMissing(RuntimeError):
    pass


def dbt_project(project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    """The project, failing clearly when its manifest has not been built yet."""
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    if not project.manifest_path.is_file():
        raise ManifestMissing(
            f"{project.manifest_path} is missing: build it with `make dbt-manifest` "
            f"(runs `dbt parse` in {project_dir}); `make test` and `make demo` do it too."
        )
    return project
