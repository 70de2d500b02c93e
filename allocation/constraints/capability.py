"""Vehicle type and capabilities: the route's requirements are met by the vehicle."""

from __future__ import annotations

from allocation.constraints.base import RouteConstraint
from allocation.models import Route, Vehicle
from allocation.window import Context


class VehicleCapability(RouteConstraint):
    """The vehicle has the route's required type (if any) and every required capability."""

    name = "vehicle_type"

    def admits(self, ctx: Context, vehicle: Vehicle, route: Route) -> str | None:
        """Reject a vehicle of another type or lacking a capability."""
        if route.vehicle_type is not None and route.vehicle_type != vehicle.vehicle_type:
            return f"needs a {route.vehicle_type}, {vehicle.vehicle_id} is a {vehicle.vehicle_type}"
        missing = route.required_capabilities - vehicle.capabilities
        if missing:
            return f"needs {', '.join(sorted(missing))}"
        return None
