"""Routes that have started (and frozen assignments) stay with their vehicle."""

from __future__ import annotations

from allocation.constraints.base import RouteConstraint
from allocation.models import Route, Vehicle
from allocation.window import Context


class KeptAssignment(RouteConstraint):
    """No other vehicle may take a route kept on its vehicle.

    That the vehicle's sequence contains its kept routes is not a per-sequence verdict but a
    property of the allocation: generation only builds sequences that contain them, and the
    model makes such a vehicle take exactly one sequence.
    """

    name = "kept_assignment"

    def admits(self, ctx: Context, vehicle: Vehicle, route: Route) -> str | None:
        """Reject a route started on, or frozen to, another vehicle."""
        owner = ctx.kept.get(route.route_id)
        if owner is None or owner == vehicle.vehicle_id:
            return None
        what = "has started" if route.route_id in ctx.started else "is frozen"
        return f"{what} on {owner}"
