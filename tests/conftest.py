"""Test-wide fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Commands configure structlog globally; every test starts and ends with the defaults."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
