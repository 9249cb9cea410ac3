"""Shared fixtures: landing records to corrupt, and an isolated platform environment."""

from pathlib import Path

import pytest

from platform_assets.ingest.tokenization import CardTokenizer

TEST_KEY = "test-tokenization-key"


@pytest.fixture
def tokenizer() -> CardTokenizer:
    return CardTokenizer(TEST_KEY.encode())


@pytest.fixture
def platform_env(tmp_path: Path, monkeypatch) -> Path:
    """A local-profile environment in a temp folder: landing, lake and DAGSTER_HOME."""
    monkeypatch.setenv("PLATFORM_ENV", "local")
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PLATFORM_LANDING_ROOT", raising=False)
    monkeypatch.delenv("PLATFORM_LAKE_URI", raising=False)
    monkeypatch.setenv("CARD_TOKEN_KEY", TEST_KEY)
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return tmp_path
