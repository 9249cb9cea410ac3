"""Where the feature tables Feast reads live, decided by the platform's settings."""

from platform_assets.environment import platform_settings


def feature_table_uri(name: str) -> str:
    """`features/<name>` under the lake root of the current environment."""
    return f"{platform_settings().lake_root.rstrip('/')}/features/{name}"
