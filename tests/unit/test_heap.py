"""Settling the heap: frozen and rarer collections while held, restored after the last holder."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from v2g.heap import THRESHOLDS, settle_heap


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_settle_freezes_and_raises_thresholds_then_restores() -> None:
    """While held: everything so far frozen and the thresholds raised; after: as before."""
    gc.set_threshold(700, 10, 10)
    release = settle_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == THRESHOLDS
    release()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)


def test_holders_nest_and_release_is_idempotent() -> None:
    """Two holders (a service and a fleet in one process): the last one out restores."""
    gc.set_threshold(500, 5, 5)
    first, second = settle_heap(), settle_heap()
    first()
    first()  # twice: counted once
    assert gc.get_threshold() == THRESHOLDS
    assert gc.get_freeze_count() > 0
    second()
    assert gc.get_threshold() == (500, 5, 5)
    assert gc.get_freeze_count() == 0
