"""The separate Python environment the Evidently contenders run in.

Evidently is not a dependency of the platform (it must not enter the main environment: its
own pins, e.g. plotly<6, and about 80 packages the platform does not need). The suite builds
`benchmarks/.venv-evidently` (git-ignored) from `evidently-requirements.txt`, every package
pinned, the first time an Evidently contender is measured: `python -m venv` of the
interpreter running the suite, then `pip install -r` (about 75 s and 1 GiB here). A stamp
holding the requirements marks a finished build; a changed file rebuilds it.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.workspace import REPO_ROOT

ENVIRONMENT = REPO_ROOT / "benchmarks" / ".venv-evidently"
REQUIREMENTS = Path(__file__).with_name("evidently-requirements.txt")
STAMP = ENVIRONMENT / "requirements-installed.txt"


def python() -> Path:
    return ENVIRONMENT / "bin" / "python"


def ready() -> bool:
    return STAMP.exists() and STAMP.read_text() == REQUIREMENTS.read_text()


def ensure() -> Path:
    """The environment's Python, building the environment first if needed."""
    if not ready():
        print(f"building the Evidently environment in {ENVIRONMENT}", file=sys.stderr)
        shutil.rmtree(ENVIRONMENT, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(ENVIRONMENT)], check=True)
        subprocess.run(
            [str(python()), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
            check=True,
        )
        STAMP.write_text(REQUIREMENTS.read_text())
    return python()
