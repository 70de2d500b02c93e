"""Which vehicles may take part in a dispatch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from dispatch.commitments import Commitments
from dispatch.models import FlexibilitySignal
from fleet import FleetArrays, Vehicle

FloatArray = NDArray[np.float64]

REASONS = ("other_site", "offline", "unplugged", "soc_window", "no_capacity", "committed")


@dataclass(frozen=True)
class Selection:
    """The eligible vehicles and, per reason, how many were excluded."""

    eligible: list[Vehicle]
    excluded: dict[str, int] = field(default_factory=dict)
    arrays: FleetArrays | None = None  # the eligible vehicles as arrays, if the filter made them
    capacity_kw: FloatArray | None = None  # their effective capacity, if computed


class VehicleFilter(Protocol):
    """Chooses the vehicles that may receive orders for a signal."""

    def select(
        self, signal: FlexibilitySignal, vehicles: Sequence[Vehicle], commitments: Commitments
    ) -> Selection:
        """Split ``vehicles`` into eligible and excluded (with reasons)."""
        ...


class SimpleVehicleFilter:
    """Keeps a vehicle when it is at the signal's site, online, plugged in, inside its SoC
    window for the direction (above ``min_soc_pct`` to discharge, below ``max_soc_pct`` to
    charge), has effective capacity above ``min_capacity_kw`` and is not committed to an
    overlapping dispatch. The first failing check, in that order, names the exclusion reason
    (:data:`REASONS`).
    """

    def __init__(self, min_capacity_kw: float = 0.0) -> None:
        if min_capacity_kw < 0:
            raise ValueError("min_capacity_kw must be >= 0")
        self.min_capacity_kw = min_capacity_kw

    def reason(
        self, signal: FlexibilitySignal, vehicle: Vehicle, commitments: Commitments
    ) -> str | None:
        """Why one ``vehicle`` is excluded, or None when it is eligible."""
        failing: tuple[Callable[[], bool], ...] = (
            lambda: vehicle.site_id != signal.site_id,
            lambda: not vehicle.online,
            lambda: not vehicle.plugged_in,
            lambda: vehicle.span_pct(signal.direction) <= 0,
            lambda: (
                vehicle.effective_capacity(signal.direction, signal.duration_h)
                <= self.min_capacity_kw
            ),
            lambda: commitments.is_committed(
                vehicle.site_id, vehicle.vehicle_id, signal.start, signal.end
            ),
        )
        return next((REASONS[k] for k, check in enumerate(failing) if check()), None)

    def select(
        self, signal: FlexibilitySignal, vehicles: Sequence[Vehicle], commitments: Commitments
    ) -> Selection:
        """The checks of :meth:`reason` over the whole fleet at once (same order, same
        reasons), keeping the arrays and capacities for the candidates."""
        n = len(vehicles)
        arrays = FleetArrays.of(vehicles)
        capacity = arrays.effective_capacity(signal.direction, signal.duration_h)
        busy = commitments.busy(signal.site_id, signal.start, signal.end)
        checks = (
            np.fromiter((v.site_id != signal.site_id for v in vehicles), bool, n),
            ~arrays.online,
            ~arrays.plugged_in,
            arrays.span_pct(signal.direction) <= 0,
            capacity <= self.min_capacity_kw,
            np.fromiter((v.vehicle_id in busy for v in vehicles), bool, n)
            if busy
            else np.zeros(n, dtype=bool),
        )
        first_failure = np.full(n, -1)
        for code in range(len(checks) - 1, -1, -1):
            first_failure[checks[code]] = code
        index = np.flatnonzero(first_failure < 0)
        counts = np.bincount(first_failure[first_failure >= 0], minlength=len(checks))
        return Selection(
            [vehicles[i] for i in index.tolist()],
            {REASONS[code]: int(c) for code, c in enumerate(counts) if c},
            arrays.take(index),
            capacity[index],
        )
