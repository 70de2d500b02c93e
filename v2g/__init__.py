"""v2g package."""
