"""Participation scores: how much each vehicle has been used lately, for fairness.

A vehicle's score rises by 1 each time it delivers power in a dispatch and decays with a
half-life measured in signal time (``half_life_h``, default 24 h): a vehicle used in every
hourly dispatch approaches ``1 / (1 - 2**(-1/24)) ~ 35``, an idle one returns to 0. The
scoring feature is ``1 / (1 + score)``, so an overused vehicle is ranked lower and a rested one
higher. Times come from the signals, never from a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


class ParticipationTracker:
    """Decaying per-vehicle participation counts, keyed by (site, vehicle)."""

    def __init__(self, half_life_h: float = 24.0) -> None:
        if half_life_h <= 0:
            raise ValueError(f"half_life_h must be > 0, got {half_life_h}")
        self.half_life_h = half_life_h
        self._scores: dict[tuple[str, str], tuple[float, datetime]] = {}

    def score(self, site_id: str, vehicle_id: str, at: datetime) -> float:
        """The decayed score of a vehicle at time ``at``."""
        entry = self._scores.get((site_id, vehicle_id))
        if entry is None:
            return 0.0
        value, when = entry
        elapsed_h = max(0.0, (at - when).total_seconds() / 3600.0)
        return float(value * 0.5 ** (elapsed_h / self.half_life_h))

    def set(self, site_id: str, vehicle_id: str, value: float, at: datetime) -> None:
        """Set a score directly (operator override, restored state)."""
        if value < 0:
            raise ValueError("participation scores are >= 0")
        self._scores[(site_id, vehicle_id)] = (value, at)

    def record(self, site_id: str, vehicle_ids: Iterable[str], at: datetime) -> None:
        """Count one participation at ``at`` for each vehicle that delivered power."""
        for vid in vehicle_ids:
            self._scores[(site_id, vid)] = (self.score(site_id, vid, at) + 1.0, at)
