"""The slot grid, and prices and load forecasts sampled onto it.

A price or load series is a step function: each point holds from its ``start`` until the next
point's start. A missing point (the real price series lacks an hour) is therefore covered by
the point before it. The last point holds for one more hour; a slot before the first point or
past that is refused for prices (no price, no plan) and read as zero load for forecasts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from scheduling.errors import InvalidProblemError
from scheduling.models import SLOT_MINUTES, LoadPoint, PricePoint
from solvers.model import FloatArray

SLOT = timedelta(minutes=SLOT_MINUTES)
_LAST_POINT_HOLDS = timedelta(hours=1)


def floor_slot(when: datetime) -> datetime:
    """The start of the slot containing ``when``, in UTC (slots start on the hour's grid)."""
    when = when.astimezone(UTC)
    minutes = when.minute - when.minute % SLOT_MINUTES
    return when.replace(minute=minutes, second=0, microsecond=0)


def slot_starts(window_start: datetime, n_slots: int) -> list[datetime]:
    """Start time of every slot of the window."""
    return [window_start + i * SLOT for i in range(n_slots)]


def slot_index_floor(window_start: datetime, when: datetime) -> int:
    """Index of the slot containing ``when`` (may be negative or past the window)."""
    return (when - window_start) // SLOT


def slot_index_ceil(window_start: datetime, when: datetime) -> int:
    """Number of slots that start before ``when``."""
    return -((window_start - when) // SLOT)


def _step_lookup(starts: Sequence[datetime], slots: Sequence[datetime]) -> np.ndarray:
    """Index of the point in force at each slot start; -1 when none is."""
    order = sorted(range(len(starts)), key=lambda i: starts[i])
    sorted_starts = [starts[i] for i in order]
    out = np.full(len(slots), -1, dtype=np.int64)
    j = -1
    for s, when in enumerate(slots):
        while j + 1 < len(sorted_starts) and sorted_starts[j + 1] <= when:
            j += 1
        if j >= 0 and (j + 1 < len(sorted_starts) or when < sorted_starts[j] + _LAST_POINT_HOLDS):
            out[s] = order[j]
    return out


def sample_prices(
    points: Sequence[PricePoint], slots: Sequence[datetime], *, site_id: str
) -> tuple[FloatArray, np.ndarray]:
    """Price (EUR/kWh) and TRIAD flag of every slot."""
    idx = _step_lookup([p.start for p in points], slots)
    if np.any(idx < 0):
        first = slots[int(np.argmax(idx < 0))]
        raise InvalidProblemError(
            f"no price for the slot starting {first.isoformat()}", site_id=site_id
        )
    price = np.array([points[i].price_eur_per_kwh for i in idx], dtype=np.float64)
    triad = np.array([points[i].triad for i in idx], dtype=bool)
    return price, triad


def sample_load(points: Sequence[LoadPoint], slots: Sequence[datetime]) -> FloatArray:
    """Forecast site load (kW) of every slot; zero where the forecast says nothing."""
    if not points:
        return np.zeros(len(slots))
    idx = _step_lookup([p.start for p in points], slots)
    return np.array([points[i].load_kw if i >= 0 else 0.0 for i in idx], dtype=np.float64)
