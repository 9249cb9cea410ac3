"""Loading the code location does not import the heavy libraries only some steps use.

Every Dagster step process (multiprocess executor), `dagster dev` and the UI import
`platform_assets.definitions`. Feast, MLflow, scikit-learn and matplotlib are imported by the
functions that use them. The check runs in a fresh interpreter, as a step process starts:
this test session has imported all of them long before.
"""

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("feast", "mlflow", "sklearn", "matplotlib")

# Imported one after the other; after each, the heavy packages loaded so far. They all must
# be empty, so the first module that pulls one in is the one named by the failure.
LIGHT_MODULES = (
    "platform_assets.tracking",
    "platform_assets.feature_store.repo",
    "platform_assets.feature_store.registry",
    "platform_assets.feature_store.online",
    "platform_assets.training.labels",
    "platform_assets.training.training_set",
    "platform_assets.training.model",
    "platform_assets.training.assets",
    "platform_assets.training.reproduce",
    "platform_assets.monitoring.report",
    "platform_assets.monitoring.alerts",
    "platform_assets.monitoring.assets",
)
DEFINITIONS = "platform_assets.definitions"


_PROBE = """
import importlib, json, sys
heavy = set(sys.argv[1].split(","))
loaded = {}
for module in sys.argv[2:]:
    importlib.import_module(module)
    loaded[module] = sorted(heavy & {name.partition(".")[0] for name in sys.modules})
print(json.dumps(loaded))
"""


def heavy_packages_after_each(modules: tuple[str, ...]) -> dict[str, list[str]]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(HEAVY), *modules],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(completed.stdout.splitlines()[-1])


def test_loading_the_code_location_imports_no_heavy_library(platform_env: Path):
    modules = (*LIGHT_MODULES, DEFINITIONS)
    assert heavy_packages_after_each(modules) == {module: [] for module in modules}
