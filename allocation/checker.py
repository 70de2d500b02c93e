"""An independent check of an allocation against the raw day.

It shares no code with generation, the constraint classes or the energy model: it re-reads
the day with its own few lines and verifies every rule of the allocation:

* ids: every assigned route and vehicle exists; a route is assigned at most once and a
  vehicle has at most one sequence, in start order;
* status and window: no cancelled route is assigned; a planned route assigned starts in
  ``[window_start, window_end)``; every route of the window is assigned or reported;
* started routes on the road stay with their vehicle (the previous allocation's, else the
  planned one); on a re-run, assignments of routes starting within the freeze horizon are
  unchanged unless the result reports them released;
* per sequence (unless it holds only started routes): vehicle type and capabilities and the
  availability window for every route not started; no overlap and the turnaround between
  consecutive routes; at most ``max_routes_per_sequence`` routes and ``max_driving_h`` hours;
  the battery, recharged at the depot between routes, never below the reserve at a return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from allocation.models import DepotDay, Route, RouteStatus, Vehicle
from allocation.result import AllocationResult, Trigger

TOL = 1e-6


@dataclass(frozen=True)
class Violation:
    """One broken rule."""

    rule: str
    subject: str  # route or vehicle id
    detail: str = ""


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def _battery_ok(day: DepotDay, veh: Vehicle, routes: list[Route]) -> list[Violation]:
    p = day.parameters
    now = day.window_start
    kwh = veh.battery_kwh * veh.soc_pct / 100
    floor = veh.battery_kwh * p.reserve_soc_pct / 100
    at_depot_since = now if veh.available_from is None else max(now, veh.available_from)
    out = []
    for r in routes:
        if r.start > at_depot_since:
            gained = veh.charge_rate_kw * p.charging_efficiency * _hours(at_depot_since, r.start)
            kwh = min(veh.battery_kwh, kwh + gained)
        use = (
            r.energy_kwh
            if r.energy_kwh is not None
            else (r.distance_km or 0.0) * (veh.efficiency_kwh_per_km)
        )
        if r.start < now:
            use *= max(0.0, min(1.0, _hours(now, r.end) / _hours(r.start, r.end)))
        kwh -= use
        if kwh < floor - TOL:
            out.append(Violation("energy", r.route_id, f"{veh.vehicle_id} at {kwh:.2f} kWh"))
        at_depot_since = max(at_depot_since, r.end)
    return out


def _sequence(
    day: DepotDay, veh: Vehicle, routes: list[Route], started: dict[str, str]
) -> list[Violation]:
    p = day.parameters
    mine = {rid for rid, vid in started.items() if vid == veh.vehicle_id}
    if all(r.route_id in mine for r in routes):
        return []
    out = []
    for r in routes:
        if r.route_id in mine:
            continue
        if r.vehicle_type not in (None, veh.vehicle_type) or not (
            r.required_capabilities <= veh.capabilities
        ):
            out.append(Violation("vehicle_type", r.route_id, veh.vehicle_id))
        if (veh.available_from is not None and r.start < veh.available_from) or (
            veh.available_until is not None and r.end > veh.available_until
        ):
            out.append(Violation("availability", r.route_id, veh.vehicle_id))
    for a, b in pairwise(routes):
        if b.start < a.end + timedelta(minutes=p.turnaround_min):
            out.append(Violation("overlap", b.route_id, f"after {a.route_id} on {veh.vehicle_id}"))
    if len(routes) > p.max_routes_per_sequence:
        out.append(Violation("max_routes", veh.vehicle_id, str(len(routes))))
    hours = sum(_hours(r.start, r.end) for r in routes)
    if hours > p.max_driving_h + 1e-9:
        out.append(Violation("max_driving_h", veh.vehicle_id, f"{hours:.2f} h"))
    return out + _battery_ok(day, veh, routes)


def _started_owner(
    day: DepotDay, previous: dict[str, str]
) -> tuple[dict[str, str], list[Violation]]:
    owners, out = {}, []
    for r in day.routes:
        if r.status is RouteStatus.STARTED and r.end > day.window_start:
            owner = previous.get(r.route_id, r.planned_vehicle_id)
            if owner is None:
                out.append(Violation("started_without_vehicle", r.route_id))
            else:
                owners[r.route_id] = owner
    return owners, out


def _ids(
    result: AllocationResult, routes: dict[str, Route], vehicles: dict[str, Vehicle]
) -> tuple[dict[str, str], list[Violation]]:
    given: dict[str, str] = {}
    out: list[Violation] = []
    owners = [a.vehicle_id for a in result.assignments]
    for a in result.assignments:
        if a.vehicle_id not in vehicles:
            out.append(Violation("unknown_vehicle", a.vehicle_id))
        if owners.count(a.vehicle_id) > 1:
            out.append(Violation("vehicle_twice", a.vehicle_id))
        for rid in a.route_ids:
            if rid not in routes:
                out.append(Violation("unknown_route", rid))
            elif rid in given:
                out.append(Violation("route_twice", rid, f"{given[rid]} and {a.vehicle_id}"))
            else:
                given[rid] = a.vehicle_id
    return given, out


def _window(day: DepotDay, given: dict[str, str], routes: dict[str, Route]) -> list[Violation]:
    start = day.window_start
    end = start + timedelta(hours=day.parameters.window_h)
    out = []
    for rid, vid in given.items():
        r = routes[rid]
        if r.status is RouteStatus.CANCELLED:
            out.append(Violation("cancelled", rid, vid))
        elif r.status is RouteStatus.PLANNED and not start <= r.start < end:
            out.append(Violation("outside_window", rid, vid))
    return out


def _kept(
    day: DepotDay,
    result: AllocationResult,
    given: dict[str, str],
    started: dict[str, str],
    prev: dict[str, str],
) -> list[Violation]:
    out = [
        Violation("started_moved", rid, f"{vid} -> {given.get(rid)}")
        for rid, vid in started.items()
        if given.get(rid) != vid
    ]
    routes = {r.route_id: r for r in day.routes}
    vehicles = {v.vehicle_id for v in day.vehicles}
    released = {x.route_id for x in result.released}
    start = day.window_start
    freeze_end = start + timedelta(minutes=day.parameters.freeze_horizon_min)
    for rid, vid in prev.items():
        r = routes.get(rid)
        if r is None or r.status is not RouteStatus.PLANNED or vid not in vehicles:
            continue
        if start <= r.start < freeze_end and rid not in released and given.get(rid) != vid:
            out.append(Violation("frozen_moved", rid, f"{vid} -> {given.get(rid)}"))
    return out


def _reported(day: DepotDay, result: AllocationResult, given: dict[str, str]) -> list[Violation]:
    start = day.window_start
    end = start + timedelta(hours=day.parameters.window_h)
    reported = set(given) | {u.route_id for u in result.unallocated}
    out = [
        Violation("unreported", r.route_id)
        for r in day.routes
        if r.status is RouteStatus.PLANNED and start <= r.start < end and r.route_id not in reported
    ]
    if result.routes_covered != len(given):
        out.append(Violation("count", result.site_id, f"{result.routes_covered} != {len(given)}"))
    return out


def check_allocation(
    day: DepotDay,
    result: AllocationResult,
    previous: AllocationResult | None = None,
) -> list[Violation]:
    """Every rule ``result`` breaks for ``day``; an empty list means it is valid.

    ``previous`` is the allocation the run started from (ignored for ``initial`` runs).
    """
    routes = {r.route_id: r for r in day.routes}
    vehicles = {v.vehicle_id: v for v in day.vehicles}
    use_previous = previous is not None and result.trigger is not Trigger.INITIAL
    prev = previous.vehicle_of() if previous is not None and use_previous else {}
    given, out = _ids(result, routes, vehicles)
    started, missing = _started_owner(day, prev)
    out += missing + _window(day, given, routes) + _kept(day, result, given, started, prev)
    for a in result.assignments:
        veh = vehicles.get(a.vehicle_id)
        seq = [routes[rid] for rid in a.route_ids if rid in routes]
        if veh is None or not seq:
            continue
        if [r.start for r in seq] != sorted(r.start for r in seq):
            out.append(Violation("order", a.vehicle_id))
        out += _sequence(day, veh, seq, started)
    return out + _reported(day, result, given)
