"""`platform-reproduce-training-set RUN_ID`: rebuild the training set of a logged model run
and show that it is the logged one.

The run's artifact `training_set_recipe.json` names everything the set was made of: the
label window and cutoff, the Delta versions of silver transactions and chargebacks, the
feature service, and the Delta versions of the feature tables Feast read. The command
recomputes the labels from silver at those versions (Delta time travel), joins them through
Feast with the feature tables pinned to theirs, hashes the result and compares it with the
run's `training_set.content_hash` tag. Exit code 0 when equal, 1 when not.

Feast definitions are not versioned in Delta: if the feature service changed since (the
registry hash differs from the logged one), the command says so, as that explains a
mismatch.
"""

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from dagster import build_resources

from platform_assets.environment import platform_settings
from platform_assets.feature_store.repo import FeastResource, feast_resource
from platform_assets.resources import LakeResource, platform_resources
from platform_assets.tracking import TrackingResource, tracking_resource
from platform_assets.training.labels import LabelWindow, compute_labels
from platform_assets.training.training_set import (
    TrainingSetRecipe,
    build_training_set,
    content_hash,
    registry_hash,
)

RECIPE_ARTIFACT = "training_set_recipe.json"
HASH_TAG = "training_set.content_hash"


@dataclass
class Reproduction:
    run_id: str
    logged_hash: str
    rebuilt_hash: str
    rows: int
    logged_registry_hash: str
    current_registry_hash: str

    @property
    def identical(self) -> bool:
        return self.logged_hash == self.rebuilt_hash


def logged_recipe(tracking: TrackingResource, run_id: str) -> tuple[TrainingSetRecipe, str]:
    """The run's recipe and logged content hash."""
    client = tracking.client()
    run = client.get_run(run_id)
    if HASH_TAG not in run.data.tags:
        raise LookupError(f"MLflow run {run_id} has no `{HASH_TAG}` tag: not a training run")
    with tempfile.TemporaryDirectory() as scratch:
        path = client.download_artifacts(run_id, RECIPE_ARTIFACT, scratch)
        recipe = TrainingSetRecipe.from_json(Path(path).read_text())
    return recipe, run.data.tags[HASH_TAG]


def rebuild(lake: LakeResource, feast: FeastResource, recipe: TrainingSetRecipe) -> pa.Table:
    """The training set of `recipe`, made again from the pinned Delta versions."""
    window = LabelWindow.from_json(recipe.label_window)
    labels = compute_labels(lake, window, recipe.silver_versions)
    return build_training_set(feast.store(), labels, recipe)


def reproduce(
    run_id: str, lake: LakeResource, feast: FeastResource, tracking: TrackingResource
) -> Reproduction:
    recipe, logged_hash = logged_recipe(tracking, run_id)
    rows = rebuild(lake, feast, recipe)
    store = feast.store()
    return Reproduction(
        run_id=run_id,
        logged_hash=logged_hash,
        rebuilt_hash=content_hash(rows),
        rows=rows.num_rows,
        logged_registry_hash=recipe.registry_hash,
        current_registry_hash=registry_hash(
            store, store.get_feature_service(recipe.feature_service)
        ),
    )


def report(result: Reproduction) -> str:
    lines = [
        f"MLflow run:    {result.run_id}",
        f"logged hash:   {result.logged_hash}",
        f"rebuilt hash:  {result.rebuilt_hash} ({result.rows:,} rows)",
        "identical: the rebuilt training set is the logged one"
        if result.identical
        else "MISMATCH: the rebuilt training set differs from the logged one",
    ]
    if result.logged_registry_hash != result.current_registry_hash:
        lines.append(
            "note: the feature service's Feast definitions changed since the run "
            f"(registry hash {result.logged_registry_hash[:12]} then, "
            f"{result.current_registry_hash[:12]} now)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_id", help="MLflow run id of a training run (training/model)")
    args = parser.parse_args(argv)
    settings = platform_settings()
    definitions = {
        "lake": platform_resources(settings)["lake"],
        "feast": feast_resource(settings),
        "tracking": tracking_resource(settings),
    }
    with build_resources(definitions) as resources:
        result = reproduce(args.run_id, resources.lake, resources.feast, resources.tracking)
    print(report(result))
    return 0 if result.identical else 1


if __name__ == "__main__":
    sys.exit(main())
