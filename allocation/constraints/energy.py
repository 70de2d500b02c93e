"""Energy feasibility: the battery never drops below the reserve along the sequence."""

from __future__ import annotations

from collections.abc import Sequence

from allocation.constraints.base import SequenceConstraint
from allocation.energy import reserve_kwh
from allocation.models import Route, Vehicle
from allocation.window import Context

TOL_KWH = 1e-6


class EnergyFeasibility(SequenceConstraint):
    """SoC at every return stays at or above ``reserve_soc_pct``, with depot recharging.

    See :mod:`allocation.energy` for the SoC model (battery, route energy, recharge between
    routes at the vehicle's rate and the site's charging efficiency).
    """

    name = "energy"

    def admits_sequence(
        self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]
    ) -> tuple[tuple[str, ...], str] | None:
        """Reject at the first return below the reserve."""
        trace = ctx.traces.trace(vehicle, routes)
        reserve = reserve_kwh(vehicle, ctx.params.reserve_soc_pct)
        if trace.min_kwh >= reserve - TOL_KWH:
            return None
        for r, kwh in zip(routes, trace.returns_kwh, strict=True):
            if kwh < reserve - TOL_KWH:
                return (
                    (r.route_id,),
                    f"returns with {kwh:.1f} kWh, below the {reserve:.1f} kWh reserve",
                )
        return None
