"""Synthetic depot days of any size, for tests, benchmarks and the day simulation.

Deterministic for a given seed (a local ``numpy.random.Generator``; no global state). A day
has about 2.5 routes per vehicle, each 1-4 h long, starting and ending inside the window;
a quarter of the fleet are large vans, some vehicles are refrigerated or have a tail lift,
some arrive late or leave early; some routes need a large van, cooling or a lift. A simple
planner (first free suitable vehicle, energy ignored) fills ``planned_vehicle_id`` for most
routes, as a depot's route plan would.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from allocation.models import AllocationParameters, DepotDay, Route, Vehicle

ROUTES_PER_VEHICLE = 2.5
_STEP_MIN = 5


def _minutes(rng: np.random.Generator, low_h: float, high_h: float) -> int:
    """A whole number of 5-minute steps between low_h and high_h hours."""
    return int(rng.integers(round(low_h * 60 / _STEP_MIN), round(high_h * 60 / _STEP_MIN) + 1))


def _vehicles(rng: np.random.Generator, n: int, start: datetime, window_h: float) -> list[Vehicle]:
    out = []
    step = timedelta(minutes=_STEP_MIN)
    for i in range(n):
        large = rng.random() < 0.25
        caps = set()
        if rng.random() < 0.2:
            caps.add("refrigerated")
        if rng.random() < 0.25:
            caps.add("tail_lift")
        u = rng.random()
        available_from = start + _minutes(rng, 2, 5) * step if u < 0.1 else None
        available_until = (
            start + _minutes(rng, window_h * 0.55, window_h * 0.85) * step
            if 0.1 <= u < 0.2
            else None
        )
        out.append(
            Vehicle(
                vehicle_id=f"ev{i:03d}",
                vehicle_type="large_van" if large else "van",
                capabilities=frozenset(caps),
                battery_kwh=100.0 if large else float(rng.choice((60.0, 75.0))),
                efficiency_kwh_per_km=round(
                    float(rng.uniform(0.25, 0.32) if large else rng.uniform(0.17, 0.25)), 3
                ),
                soc_pct=round(float(rng.uniform(35, 95)), 1),
                charge_rate_kw=float(rng.choice((11.0, 22.0), p=(0.7, 0.3))),
                available_from=available_from,
                available_until=available_until,
            )
        )
    return out


def _routes(rng: np.random.Generator, n: int, start: datetime, window_h: float) -> list[Route]:
    out = []
    step = timedelta(minutes=_STEP_MIN)
    for i in range(n):
        duration = _minutes(rng, 1, 4)
        begin = _minutes(rng, 0, window_h - duration * _STEP_MIN / 60)
        hours = duration * _STEP_MIN / 60
        distance = round(hours * float(rng.uniform(28, 45)), 1)
        measured = rng.random() < 0.1
        u = rng.random()
        out.append(
            Route(
                route_id=f"r{i:03d}",
                start=start + begin * step,
                end=start + (begin + duration) * step,
                distance_km=None if measured else distance,
                energy_kwh=round(distance * 0.22, 1) if measured else None,
                vehicle_type="large_van" if u < 0.15 else None,
                required_capabilities=frozenset(
                    {"refrigerated"}
                    if 0.15 <= u < 0.25
                    else {"tail_lift"}
                    if 0.25 <= u < 0.35
                    else ()
                ),
            )
        )
    return sorted(out, key=lambda r: (r.start, r.route_id))


def _plan(rng: np.random.Generator, routes: list[Route], vehicles: list[Vehicle]) -> list[Route]:
    """The planner's vehicle: the first free suitable one in a shuffled order, for 85 %."""
    order = [vehicles[int(i)] for i in rng.permutation(len(vehicles))]
    free_at: dict[str, datetime] = {}
    out = []
    for r in routes:
        planned = None
        if rng.random() < 0.85:
            for v in order:
                fits = (r.vehicle_type in (None, v.vehicle_type)) and r.required_capabilities <= (
                    v.capabilities
                )
                ready = free_at.get(v.vehicle_id)
                if fits and v.is_available(r.start, r.end) and (ready is None or ready <= r.start):
                    planned = v.vehicle_id
                    free_at[v.vehicle_id] = r.end + timedelta(minutes=15)
                    break
        out.append(r.model_copy(update={"planned_vehicle_id": planned}))
    return out


def synthetic_day(
    n_routes: int,
    *,
    start: datetime,
    n_vehicles: int | None = None,
    window_h: float = 18.0,
    seed: int = 0,
    site_id: str = "synthetic",
    parameters: AllocationParameters | None = None,
) -> DepotDay:
    """A depot day of ``n_routes`` routes inside ``[start, start + window_h]``."""
    rng = np.random.default_rng(seed)
    n_v = n_vehicles if n_vehicles is not None else max(1, round(n_routes / ROUTES_PER_VEHICLE))
    vehicles = _vehicles(rng, n_v, start, window_h)
    routes = _plan(rng, _routes(rng, n_routes, start, window_h), vehicles)
    params = parameters or AllocationParameters(window_h=window_h)
    return DepotDay(
        site_id=site_id,
        window_start=start,
        routes=tuple(routes),
        vehicles=tuple(vehicles),
        parameters=params,
    )
