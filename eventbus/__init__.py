"""eventbus package."""
