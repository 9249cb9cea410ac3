"""The Feast registry as an asset: `feast apply` of `feature_repo/` when its definitions change.

The asset's code version is a hash of the repository's definition files and yaml, so the
Dagster UI marks it stale as soon as someone edits a feature view. Each apply records what it
changed (Feast's plan) as metadata.

Feast is imported by the functions that use it: loading the code location must not import it
(see `platform_assets.feature_store.repo`). Feast's types are quoted in annotations here, not
postponed module-wide: Dagster checks the asset's `context` annotation as a class.
"""

import contextlib
import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from google.protobuf.message import Message

from platform_assets.feature_store.repo import FEATURE_REPO, FeastResource

if TYPE_CHECKING:
    from feast import FeatureStore
    from feast.diff.property_diff import PropertyDiff
    from feast.diff.registry_diff import RegistryDiff
    from feast.repo_contents import RepoContents

REGISTRY_KEY = AssetKey(["feature_store", "registry"])
FEATURE_STORE_GROUP = "feature_store"
_DEFINITION_PATTERNS = ("*.py", "*.yaml", ".feastignore")


def definitions_version(repo_path: Path = FEATURE_REPO) -> str:
    """A hash of the definition files (names and contents), the registry's code version."""
    digest = hashlib.sha256()
    files = sorted(
        path
        for pattern in _DEFINITION_PATTERNS
        for path in repo_path.glob(pattern)
        if path.is_file()
    )
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def load_definitions(repo_path: Path) -> "RepoContents":
    """Import the repository's definition files afresh, as `feast apply` does.

    Feast imports each file as a top-level module named after it (`entities`,
    `feature_views`, ...) from the repository folder. Modules left by an earlier load are
    dropped first, by name wherever they were loaded from (a copy of the repository
    imports under the same names): they would carry the table locations of the
    environment they were loaded in.
    """
    from feast.repo_operations import parse_repo

    repo_path = repo_path.resolve()
    for definition_file in repo_path.glob("*.py"):
        sys.modules.pop(definition_file.stem, None)
    sys.path.insert(0, str(repo_path))
    try:
        with contextlib.chdir(repo_path):
            return parse_repo(repo_path)
    finally:
        sys.path.remove(str(repo_path))


def describe_changes(diff: "RegistryDiff") -> list[str]:
    """One line per object created, updated or deleted, e.g. `created FEATURE_VIEW user_features`
    or `updated FEATURE_VIEW user_features (ttl, schema)`."""
    from feast.diff.registry_diff import TransitionType
    from feast.infra.registry.registry import FeastObjectType

    lines = []
    for change in diff.feast_object_diffs:
        if (
            change.transition_type == TransitionType.UNCHANGED
            or change.feast_object_type == FeastObjectType.PROJECT
            or change.name.startswith("__")  # Feast's placeholder entity
        ):
            continue
        properties = sorted(
            {p.property_name for p in change.feast_object_property_diffs if _really_differs(p)}
        )
        if change.transition_type == TransitionType.UPDATE and not properties:
            continue
        # CREATE / UPDATE / DELETE -> created / updated / deleted
        action = f"{change.transition_type.name.lower()}d"
        line = f"{action} {change.feast_object_type.name} {change.name}"
        lines.append(f"{line} ({', '.join(properties)})" if properties else line)
    return lines


def _really_differs(difference: "PropertyDiff") -> bool:
    """False when only bookkeeping differs: a data source's `meta` holds the times it was
    parsed, new on every apply."""
    existing, declared = difference.val_existing, difference.val_declared
    if isinstance(existing, Message) and isinstance(declared, Message):
        existing, declared = _without_meta(existing), _without_meta(declared)
    return existing != declared


def _without_meta(message: Message) -> Message:
    copy = type(message)()
    copy.CopyFrom(message)
    if "meta" in copy.DESCRIPTOR.fields_by_name:
        copy.ClearField("meta")
    return copy


def apply_definitions(store: "FeatureStore", definitions: "RepoContents") -> list[str]:
    """`feast apply`: register the definitions, delete what they no longer declare, update the
    online store's tables; returns the changes (`describe_changes`)."""
    from feast.repo_operations import extract_objects_for_apply_delete

    changes = describe_changes(store.plan(definitions)[0])
    to_apply, to_delete, _, _ = extract_objects_for_apply_delete(
        store.project, store.registry, definitions
    )
    store.apply(to_apply, objects_to_delete=to_delete, partial=False)
    return changes


@asset(
    key=REGISTRY_KEY,
    group_name=FEATURE_STORE_GROUP,
    code_version=definitions_version(),
    kinds={"feast"},
    description="`feast apply` of feature_repo/: entities, feature views, the on-demand view "
    "and the feature services, registered in this profile's registry (and the online "
    "store's tables created). Stale in the UI whenever the definitions change.",
)
def feast_registry(context: AssetExecutionContext, feast: FeastResource) -> MaterializeResult:
    store = feast.store()
    definitions = load_definitions(Path(feast.repo_path))
    changes = apply_definitions(store, definitions)
    context.log.info("feast apply: %s", "; ".join(changes) or "no changes")
    return MaterializeResult(
        metadata={
            "project": store.project,
            "changes": MetadataValue.md(
                "\n".join(f"- {line}" for line in changes) or "No changes to the registry."
            ),
            "changed_objects": len(changes),
            "feature_views": sorted(view.name for view in definitions.feature_views),
            "on_demand_feature_views": sorted(
                view.name for view in definitions.on_demand_feature_views
            ),
            "feature_services": sorted(service.name for service in definitions.feature_services),
            "definitions_version": definitions_version(Path(feast.repo_path)),
        }
    )
