"""Where the benchmarks keep their data and results, and the environment they run in."""

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DEFAULT_WORK_DIR = Path(tempfile.gettempdir()) / "fraud-benchmarks"
# A fixed tokenization key: the benchmark's tokens protect nothing, and every contender
# hashes with the same key.
BENCHMARK_TOKEN_KEY = "benchmark-only-card-token-key-0123456789abcdef"


def contender_environment(out: Path) -> dict[str, str]:
    """The environment of a contender's process: local profile, data only under `out`."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PLATFORM_LANDING_ROOT", "PLATFORM_LAKE_URI")
    }
    environment.update(
        PLATFORM_ENV="local",
        PLATFORM_DATA_DIR=str(out),
        CARD_TOKEN_KEY=BENCHMARK_TOKEN_KEY,
    )
    return environment


GENERATION_STAMP = "generated.json"


def generated_once(folder: Path, settings: dict, generate: Callable[[], None]) -> None:
    """Run `generate` into an emptied `folder` unless the folder's stamp holds these settings
    (the data of a finished generation with them is there); then write the stamp."""
    expected = json.dumps(settings, sort_keys=True)
    stamp = folder / GENERATION_STAMP
    if stamp.exists() and stamp.read_text() == expected:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    generate()
    stamp.write_text(expected)


def generation_settings(folder: Path) -> dict:
    return json.loads((folder / GENERATION_STAMP).read_text())


def outputs_once(
    names: list[str],
    once: Callable[..., dict],
    work_dir: Path,
    label: str,
    write_variable: str,
    read: Callable[[Path], object],
) -> dict[str, object]:
    """Run each contender once, untimed, with `write_variable` set so that it writes its output
    into its own folder, and return what `read` makes of each folder (removed afterwards)."""
    outputs = {}
    os.environ[write_variable] = "1"
    try:
        for index, name in enumerate(names):
            out = work_dir / "verify" / str(index)
            log = work_dir / "logs" / f"verify-{label}-{index}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            once(name, log, out)
            outputs[name] = read(out)
    finally:
        os.environ.pop(write_variable, None)
    shutil.rmtree(work_dir / "verify")
    return outputs
