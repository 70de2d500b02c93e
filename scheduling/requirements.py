"""Energy requirements: which vehicle drives which route, how much energy, by when.

Route energy is ``energy_kwh`` when the route gives it, else ``distance_km`` times the
vehicle's efficiency, or the fleet average efficiency where the vehicle has none. A vehicle
driving several routes gets one checkpoint per departure, with the cumulative energy of its
routes up to and including that one: the battery must hold
``max(0, cumulative_kwh + reserve_kwh - current_soc_kwh)`` more than now at that departure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduling.errors import InvalidProblemError
from scheduling.models import Mode, Route, ScheduleProblem, VehicleSpec


@dataclass(frozen=True)
class Checkpoint:
    """A departure the battery must be ready for."""

    vehicle_id: str
    route_id: str
    departure: datetime
    cumulative_kwh: float  # route energy of this and earlier routes in the window
    required_kwh: float  # energy to add before departure (the seed's required_for_route)


def fleet_average_efficiency(vehicles: tuple[VehicleSpec, ...]) -> float | None:
    """Mean kWh/km over the vehicles that state one; None when none does."""
    known = [v.efficiency_kwh_per_km for v in vehicles if v.efficiency_kwh_per_km is not None]
    return sum(known) / len(known) if known else None


def routes_by_vehicle(problem: ScheduleProblem) -> dict[str, list[Route]]:
    """Routes each vehicle drives, by departure, in the problem's mode."""
    by_id = {r.route_id: r for r in problem.routes}
    out: dict[str, list[Route]] = {v.vehicle_id: [] for v in problem.vehicles}
    if problem.mode is Mode.INDEPENDENT:
        for r in problem.routes:
            if r.vehicle_id is not None:
                out[r.vehicle_id].append(r)
    else:
        seen: set[str] = set()
        for a in problem.allocations:
            if a.route_id in seen:
                raise InvalidProblemError(
                    f"route {a.route_id} is allocated twice", site_id=problem.site_id
                )
            seen.add(a.route_id)
            out[a.vehicle_id].append(by_id[a.route_id])
    for routes in out.values():
        routes.sort(key=lambda r: r.departure)
    return out


def route_energy_kwh(route: Route, vehicle: VehicleSpec, fleet_avg: float | None) -> float:
    """Energy the route takes from the battery."""
    if route.energy_kwh is not None:
        return route.energy_kwh
    assert route.distance_km is not None  # noqa: S101  (the model guarantees one of the two)
    efficiency = vehicle.efficiency_kwh_per_km or fleet_avg
    if efficiency is None:
        raise ValueError(f"route {route.route_id}: no efficiency for {vehicle.vehicle_id}")
    return route.distance_km * efficiency


def checkpoints(problem: ScheduleProblem) -> list[Checkpoint]:
    """One checkpoint per future departure of every vehicle, in vehicle then time order.

    Routes that departed before the window started are in progress: they make the vehicle
    unavailable until they return but need no energy (the reported SoC already pays for them).
    """
    fleet_avg = fleet_average_efficiency(problem.vehicles)
    routes = routes_by_vehicle(problem)
    reserve_pct = problem.site.reserve_soc_pct
    out: list[Checkpoint] = []
    for v in problem.vehicles:
        cumulative = 0.0
        for r in routes[v.vehicle_id]:
            if r.departure < problem.window_start:
                continue
            try:
                cumulative += route_energy_kwh(r, v, fleet_avg)
            except ValueError as exc:
                raise InvalidProblemError(str(exc), site_id=problem.site_id) from exc
            reserve = v.battery_kwh * reserve_pct / 100
            required = max(0.0, cumulative + reserve - v.soc_kwh)
            out.append(Checkpoint(v.vehicle_id, r.route_id, r.departure, cumulative, required))
    return out
