"""The registry asset's helpers: its code version and what `feast plan` says changed."""

import shutil
from pathlib import Path

import pytest

from platform_assets.feature_store.registry import (
    apply_definitions,
    definitions_version,
    load_definitions,
)
from platform_assets.feature_store.repo import FEATURE_REPO, FeastResource


@pytest.fixture
def repo_copy(tmp_path, platform_env) -> Path:
    copy = tmp_path / "feature_repo"
    shutil.copytree(FEATURE_REPO, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_version_follows_the_definitions(repo_copy):
    version = definitions_version(repo_copy)
    assert definitions_version(repo_copy) == version
    views = repo_copy / "feature_views.py"
    views.write_text(views.read_text() + "\n# a comment is a change too\n")
    assert definitions_version(repo_copy) != version


def test_apply_reports_what_an_edit_changes(repo_copy, tmp_path):
    store = FeastResource(repo_path=str(repo_copy), state_dir=str(tmp_path / "feast")).store()
    created = apply_definitions(store, load_definitions(repo_copy))
    assert "created FEATURE_VIEW user_features" in created
    assert "created FEATURE_SERVICE fraud_model_v2" in created
    assert "created ON_DEMAND_FEATURE_VIEW transaction_context" in created
    assert apply_definitions(store, load_definitions(repo_copy)) == []

    views = repo_copy / "feature_views.py"
    views.write_text(views.read_text().replace("ttl=timedelta(days=30)", "ttl=timedelta(days=45)"))
    assert apply_definitions(store, load_definitions(repo_copy)) == [
        "updated FEATURE_VIEW merchant_features (ttl)"
    ]
    assert store.get_feature_view("merchant_features").ttl.days == 45
