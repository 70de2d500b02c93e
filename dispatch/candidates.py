"""The eligible vehicles of one dispatch as arrays: capacity and normalised features.

Built once per dispatch from the vehicles that passed the filter, then shared by every
dispatcher, fallback and the tuner. Features, each in [0, 1], higher is the better candidate:

- ``soc``: position of the SoC inside the usable window ``[min_soc, max_soc]``; for a
  discharge ``(soc - min) / (max - min)``, for a charge ``(max - soc) / (max - min)``;
- ``capacity``: effective capacity over the largest one among the candidates;
- ``availability``: the vehicle's estimated availability;
- ``health``: ``1 - degradation``;
- ``participation``: ``1 / (1 + participation score)`` (see :mod:`dispatch.participation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from dispatch.models import FlexibilitySignal
from dispatch.participation import ParticipationTracker
from dispatch.weights import FEATURES, Weights
from fleet import FleetArrays, Vehicle

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Candidates:
    """Vehicles, their effective capacity (kW) and feature matrix, index-aligned."""

    vehicles: tuple[Vehicle, ...]
    capacity_kw: FloatArray
    features: FloatArray

    def __post_init__(self) -> None:
        n = len(self.vehicles)
        if self.capacity_kw.shape != (n,) or self.features.shape != (n, len(FEATURES)):
            raise ValueError("candidate arrays do not match the vehicles")

    def __len__(self) -> int:
        return len(self.vehicles)

    @cached_property
    def ids(self) -> tuple[str, ...]:
        """Vehicle ids in index order."""
        return tuple(v.vehicle_id for v in self.vehicles)

    def scores(self, weights: Weights) -> FloatArray:
        """``features @ normalised weights``, one score in [0, 1] per vehicle."""
        return np.asarray(self.features @ weights.normalised().as_array(), dtype=np.float64)

    def feature(self, name: str) -> FloatArray:
        """One feature column by name."""
        return np.asarray(self.features[:, FEATURES.index(name)], dtype=np.float64)

    @classmethod
    def build(
        cls,
        signal: FlexibilitySignal,
        vehicles: Sequence[Vehicle],
        participation: ParticipationTracker | None = None,
        *,
        arrays: FleetArrays | None = None,
        capacity_kw: FloatArray | None = None,
    ) -> Candidates:
        """Capacities (:meth:`fleet.Vehicle.effective_capacity`) and features of ``vehicles``.

        ``arrays`` and ``capacity_kw``, when the filter already computed them for exactly
        these vehicles, are reused.
        """
        n = len(vehicles)
        direction = signal.direction
        if arrays is None or len(arrays) != n:
            arrays = FleetArrays.of(vehicles)
        if capacity_kw is None or capacity_kw.shape != (n,):
            capacity_kw = arrays.effective_capacity(direction, signal.duration_h)
        window = arrays.max_soc_pct - arrays.min_soc_pct
        feats = np.empty((n, len(FEATURES)), dtype=np.float64)
        feats[:, 0] = np.clip(arrays.span_pct(direction) / window, 0.0, 1.0)
        top = capacity_kw.max() if n else 0.0
        feats[:, 1] = capacity_kw / top if top > 0 else 0.0
        feats[:, 2] = arrays.availability
        feats[:, 3] = 1.0 - arrays.degradation
        if participation is None or not n:
            feats[:, 4] = 1.0
        else:
            ids = [v.vehicle_id for v in vehicles]
            feats[:, 4] = 1.0 / (1.0 + participation.scores(signal.site_id, ids, signal.start))
        return cls(tuple(vehicles), np.asarray(capacity_kw, dtype=np.float64), feats)
