"""Which vehicles may take part in a dispatch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dispatch.commitments import Commitments
from dispatch.models import FlexibilitySignal
from fleet import Direction, Vehicle


@dataclass(frozen=True)
class Selection:
    """The eligible vehicles and, per reason, how many were excluded."""

    eligible: list[Vehicle]
    excluded: dict[str, int] = field(default_factory=dict)


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
    overlapping dispatch. The first failing check names the exclusion reason.
    """

    def __init__(self, min_capacity_kw: float = 0.0) -> None:
        if min_capacity_kw < 0:
            raise ValueError("min_capacity_kw must be >= 0")
        self.min_capacity_kw = min_capacity_kw

    def reason(
        self, signal: FlexibilitySignal, vehicle: Vehicle, commitments: Commitments
    ) -> str | None:
        """Why ``vehicle`` is excluded, or None when it is eligible."""
        if vehicle.site_id != signal.site_id:
            reason = "other_site"
        elif not vehicle.online:
            reason = "offline"
        elif not vehicle.plugged_in:
            reason = "unplugged"
        elif (
            vehicle.soc_pct <= vehicle.min_soc_pct
            if signal.direction is Direction.DISCHARGE
            else vehicle.soc_pct >= vehicle.max_soc_pct
        ):
            reason = "soc_window"
        elif vehicle.effective_capacity(signal.direction, signal.duration_h) <= max(
            self.min_capacity_kw, 0.0
        ):
            reason = "no_capacity"
        elif commitments.is_committed(
            vehicle.site_id, vehicle.vehicle_id, signal.start, signal.end
        ):
            reason = "committed"
        else:
            reason = None
        return reason

    def select(
        self, signal: FlexibilitySignal, vehicles: Sequence[Vehicle], commitments: Commitments
    ) -> Selection:
        """Apply :meth:`reason` to every vehicle."""
        eligible: list[Vehicle] = []
        excluded: Counter[str] = Counter()
        for v in vehicles:
            why = self.reason(signal, v, commitments)
            if why is None:
                eligible.append(v)
            else:
                excluded[why] += 1
        return Selection(eligible, dict(excluded))
