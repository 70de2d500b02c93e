"""Participation scores: how much each vehicle has been used lately, for fairness.

A vehicle's score rises by 1 each time it delivers power in a dispatch and decays with a
half-life measured in signal time (``half_life_h``, default 24 h): a vehicle used in every
hourly dispatch approaches ``1 / (1 - 2**(-1/24)) ~ 35``, an idle one returns to 0. The
scoring feature is ``1 / (1 + score)``, so an overused vehicle is ranked lower and a rested one
higher. Times come from the signals, never from a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class ParticipationTracker:
    """Decaying per-vehicle participation counts, per site.

    Each site keeps two flat maps, vehicle -> value and vehicle -> time of the value, so
    recording thousands of vehicles allocates no object per vehicle.
    """

    def __init__(self, half_life_h: float = 24.0) -> None:
        if half_life_h <= 0:
            raise ValueError(f"half_life_h must be > 0, got {half_life_h}")
        self.half_life_h = half_life_h
        self._value: dict[str, dict[str, float]] = {}
        self._when: dict[str, dict[str, datetime]] = {}

    def _decay(self, when: datetime, at: datetime) -> float:
        elapsed_h = max(0.0, (at - when).total_seconds() / 3600.0)
        return float(0.5 ** (elapsed_h / self.half_life_h))

    def score(self, site_id: str, vehicle_id: str, at: datetime) -> float:
        """The decayed score of a vehicle at time ``at``."""
        return float(self.scores(site_id, [vehicle_id], at)[0])

    def scores(self, site_id: str, vehicle_ids: Sequence[str], at: datetime) -> FloatArray:
        """:meth:`score` of many vehicles at once."""
        out = np.zeros(len(vehicle_ids))
        values = self._value.get(site_id)
        if not values:
            return out
        whens = self._when[site_id]
        decay: dict[datetime, float] = {}  # vehicles recorded together share a timestamp
        for i, vid in enumerate(vehicle_ids):
            value = values.get(vid)
            if value is not None:
                when = whens[vid]
                factor = decay.get(when)
                if factor is None:
                    factor = decay[when] = self._decay(when, at)
                out[i] = value * factor
        return out

    def set(self, site_id: str, vehicle_id: str, value: float, at: datetime) -> None:
        """Set a score directly (operator override, restored state)."""
        if value < 0:
            raise ValueError("participation scores are >= 0")
        self._value.setdefault(site_id, {})[vehicle_id] = value
        self._when.setdefault(site_id, {})[vehicle_id] = at

    def record(self, site_id: str, vehicle_ids: Iterable[str], at: datetime) -> None:
        """Count one participation at ``at`` for each vehicle that delivered power."""
        ids = list(vehicle_ids)
        current = self.scores(site_id, ids, at) + 1.0
        self._value.setdefault(site_id, {}).update(zip(ids, current.tolist(), strict=True))
        self._when.setdefault(site_id, {}).update(dict.fromkeys(ids, at))
