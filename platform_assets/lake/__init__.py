"""Lake layer: bronze -> silver Delta tables, validated before they are committed."""
