"""The vehicle's availability window contains the whole route."""

from __future__ import annotations

from allocation.constraints.base import RouteConstraint
from allocation.models import Route, Vehicle
from allocation.window import Context


class AvailabilityWindow(RouteConstraint):
    """``available_from <= start`` and ``end <= available_until``."""

    name = "availability"

    def admits(self, ctx: Context, vehicle: Vehicle, route: Route) -> str | None:
        """Reject a route outside the vehicle's availability."""
        if vehicle.is_available(route.start, route.end):
            return None
        since = vehicle.available_from.isoformat() if vehicle.available_from else "now"
        until = vehicle.available_until.isoformat() if vehicle.available_until else "the end"
        return f"{vehicle.vehicle_id} is available from {since} until {until}"
