"""State of charge along a sequence of routes.

The battery starts at the vehicle's SoC at ``window_start``. Whenever the vehicle is at the
depot and available (from ``max(window_start, available_from)`` and between routes) it
recharges at ``charge_rate_kw * charging_efficiency``, up to a full battery. Each route takes
its energy at once: ``energy_kwh``, else ``distance_km * efficiency_kwh_per_km``; a route
already on the road at ``window_start`` takes only the share of its duration still ahead
(the reported SoC paid for the rest). The lowest points of the trace are the returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from allocation.models import Route, Vehicle

_H = 3600.0


def route_energy_kwh(route: Route, vehicle: Vehicle) -> float:
    """Energy the whole route takes from this vehicle's battery."""
    if route.energy_kwh is not None:
        return route.energy_kwh
    assert route.distance_km is not None  # noqa: S101  (the model guarantees one of the two)
    return route.distance_km * vehicle.efficiency_kwh_per_km


def energy_ahead_kwh(route: Route, vehicle: Vehicle, now: datetime) -> float:
    """Energy the route still takes after ``now`` (all of it unless it is on the road)."""
    full = route_energy_kwh(route, vehicle)
    if route.start >= now:
        return full
    left = (route.end - now).total_seconds() / (route.end - route.start).total_seconds()
    return full * min(1.0, max(0.0, left))


@dataclass(frozen=True)
class EnergyTrace:
    """Battery energy when each route returns, in sequence order, and where it ends."""

    battery_kwh: float
    returns_kwh: tuple[float, ...]
    soc_kwh: float  # energy after the last return (the start energy if no route)
    at_depot_from: datetime  # when the vehicle is back and may charge again

    @property
    def min_kwh(self) -> float:
        """The lowest energy at any return (the battery's energy if no route)."""
        return min(self.returns_kwh, default=self.soc_kwh)


def start_trace(vehicle: Vehicle, now: datetime) -> EnergyTrace:
    """The battery at ``now``: charging may start once the vehicle is available."""
    at_depot = max(now, vehicle.available_from) if vehicle.available_from else now
    return EnergyTrace(vehicle.battery_kwh, (), vehicle.soc_kwh, at_depot)


def step(
    trace: EnergyTrace,
    vehicle: Vehicle,
    route: Route,
    *,
    now: datetime,
    charging_efficiency: float,
) -> EnergyTrace:
    """The trace after recharging until ``route`` starts, then driving it."""
    soc = trace.soc_kwh
    if route.start > trace.at_depot_from:
        hours = (route.start - trace.at_depot_from).total_seconds() / _H
        soc = min(trace.battery_kwh, soc + vehicle.charge_rate_kw * charging_efficiency * hours)
    soc -= energy_ahead_kwh(route, vehicle, now)
    return EnergyTrace(
        trace.battery_kwh,
        (*trace.returns_kwh, soc),
        soc,
        max(trace.at_depot_from, route.end),
    )


def simulate(
    vehicle: Vehicle, routes: Sequence[Route], *, now: datetime, charging_efficiency: float
) -> EnergyTrace:
    """Battery energy along ``routes`` (in start order) from ``now``."""
    trace = start_trace(vehicle, now)
    for r in routes:
        trace = step(trace, vehicle, r, now=now, charging_efficiency=charging_efficiency)
    return trace


class TraceCache:
    """Memoised traces of one run (same ``now`` and charging efficiency), built by prefix.

    Sequence generation asks for the trace of ``s + (r,)`` right after the trace of ``s``;
    each costs one step. Keys are the vehicle object (held, so its identity stays unique) and
    the route ids: within one run a route id names one route.
    """

    def __init__(self, now: datetime, charging_efficiency: float) -> None:
        self.now = now
        self.charging_efficiency = charging_efficiency
        self._memo: dict[tuple[int, tuple[str, ...]], EnergyTrace] = {}
        self._held: dict[int, Vehicle] = {}

    def trace(self, vehicle: Vehicle, routes: Sequence[Route]) -> EnergyTrace:
        """The trace of ``routes`` driven by ``vehicle``."""
        ids = tuple(r.route_id for r in routes)
        vid = id(vehicle)
        hit = self._memo.get((vid, ids))
        if hit is not None:
            return hit
        known = len(ids) - 1  # longest memoised prefix
        while known >= 0 and (vid, ids[:known]) not in self._memo:
            known -= 1
        if known < 0:
            self._held[vid] = vehicle
            trace = start_trace(vehicle, self.now)
            self._memo[(vid, ())] = trace
            known = 0
        else:
            trace = self._memo[(vid, ids[:known])]
        for i in range(known, len(ids)):
            trace = step(
                trace,
                vehicle,
                routes[i],
                now=self.now,
                charging_efficiency=self.charging_efficiency,
            )
            self._memo[(vid, ids[: i + 1])] = trace
        return trace


def reserve_kwh(vehicle: Vehicle, reserve_soc_pct: float) -> float:
    """Energy the battery keeps at all times."""
    return vehicle.battery_kwh * reserve_soc_pct / 100


def soc_at_kwh(
    vehicle: Vehicle,
    routes: Sequence[Route],
    when: datetime,
    *,
    now: datetime,
    charging_efficiency: float,
) -> float:
    """Battery energy at ``when`` if the vehicle drives ``routes`` (in start order) from ``now``.

    Routes starting at or after ``when`` are not driven yet; a route on the road at ``when``
    has taken the share of its energy driven since it left (or since ``now``); the depot
    recharges as in :func:`simulate` up to ``when``.
    """
    trace = start_trace(vehicle, now)
    rate = vehicle.charge_rate_kw * charging_efficiency

    def recharged(until: datetime) -> float:
        if until <= trace.at_depot_from:
            return trace.soc_kwh
        hours = (until - trace.at_depot_from).total_seconds() / _H
        return min(trace.battery_kwh, trace.soc_kwh + rate * hours)

    for r in routes:
        if r.start >= when:
            break
        if r.end > when:  # on the road
            left = max(r.start, now)
            driven = (when - left).total_seconds() / (r.end - r.start).total_seconds()
            return recharged(r.start) - route_energy_kwh(r, vehicle) * driven
        trace = step(trace, vehicle, r, now=now, charging_efficiency=charging_efficiency)
    return recharged(when)
