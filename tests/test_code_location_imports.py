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
)
DEFINITIONS = "platform_assets.definitions"

STILL_IMPORTED_BY_MONITORING = {
    "mlflow": "platform_assets/monitoring/assets.py imports mlflow at module level",
    "matplotlib": "platform_assets/monitoring/report.py imports matplotlib.pyplot at module level",
}
"""Heavy packages the definitions still load, through the monitoring modules (to be moved
into the functions that use them, as in the modules above)."""

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
    loaded = heavy_packages_after_each((*LIGHT_MODULES, DEFINITIONS))
    assert {module: loaded[module] for module in LIGHT_MODULES} == {
        module: [] for module in LIGHT_MODULES
    }
    # Feast and scikit-learn not at all.
    assert set(loaded[DEFINITIONS]) <= set(STILL_IMPORTED_BY_MONITORING)
