"""The rolling window and what a re-run carries over from the previous allocation.

A run at ``window_start`` (now) decides over the routes that start in
``[window_start, window_start + window_h)``. Of those:

* **cancelled** routes are never allocated;
* **started** routes stay with their vehicle (the previous allocation's, else the planned
  one); a started route still on the road is part of its vehicle's sequence, one that has
  returned is history and leaves the problem;
* planned routes whose start has **passed** are reported, not allocated;
* on a re-run (any trigger but ``initial``), assignments of routes starting within the
  **freeze horizon** are kept if they still satisfy every constraint (the allocator checks),
  and every other previous assignment earns the stability score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allocation.energy import TraceCache
from allocation.errors import InvalidDayError
from allocation.models import AllocationParameters, DepotDay, Route, RouteStatus
from allocation.result import AllocationResult, Trigger


@dataclass(frozen=True)
class Context:
    """What constraints and score terms may read besides the vehicle and the routes."""

    params: AllocationParameters
    window_start: datetime
    window_end: datetime
    started: Mapping[str, str] = field(default_factory=dict)  # route id -> vehicle id
    kept: Mapping[str, str] = field(default_factory=dict)  # started and frozen routes
    previous: Mapping[str, str] = field(default_factory=dict)  # previous allocation
    energy: TraceCache | None = None  # memoised SoC traces; made on construction if None

    def __post_init__(self) -> None:
        if self.energy is None:
            cache = TraceCache(self.window_start, self.params.charging_efficiency)
            object.__setattr__(self, "energy", cache)

    @property
    def traces(self) -> TraceCache:
        """The run's memoised SoC traces (see :mod:`allocation.energy`)."""
        assert self.energy is not None  # noqa: S101  (set in __post_init__)
        return self.energy

    def is_started_on(self, route_id: str, vehicle_id: str) -> bool:
        """True when the route is on the road with this vehicle (a fact, never re-checked)."""
        return self.started.get(route_id) == vehicle_id

    def with_kept(self, kept: Mapping[str, str]) -> Context:
        """The same context keeping these routes on their vehicles (plus the started ones)."""
        return Context(
            self.params,
            self.window_start,
            self.window_end,
            self.started,
            {**kept, **self.started},
            self.previous,
            self.energy,
        )


@dataclass(frozen=True)
class Window:
    """One run's view of the day."""

    ctx: Context
    routes: tuple[Route, ...]  # started and allocatable routes, by start then id
    frozen: Mapping[str, str]  # candidate frozen assignments, validated by the allocator
    passed: tuple[str, ...]
    cancelled: tuple[str, ...]
    deferred: tuple[str, ...]


def _previous(day: DepotDay, trigger: Trigger, previous: AllocationResult | None) -> dict[str, str]:
    if previous is None or trigger is Trigger.INITIAL:
        return {}
    routes = {r.route_id: r for r in day.routes}
    vehicles = {v.vehicle_id for v in day.vehicles}
    return {
        rid: vid
        for rid, vid in previous.vehicle_of().items()
        if rid in routes and routes[rid].status is not RouteStatus.CANCELLED and vid in vehicles
    }


def _started_vehicle(day: DepotDay, route: Route, previous: Mapping[str, str]) -> str:
    vid = previous.get(route.route_id) or route.planned_vehicle_id
    if vid is None:
        raise InvalidDayError(
            f"route {route.route_id} has started but has no vehicle",
            site_id=day.site_id,
            route_id=route.route_id,
        )
    if vid not in {v.vehicle_id for v in day.vehicles}:
        raise InvalidDayError(
            f"route {route.route_id} has started on {vid}, which is not in the day",
            site_id=day.site_id,
            route_id=route.route_id,
        )
    return vid


def open_window(
    day: DepotDay, trigger: Trigger, previous: AllocationResult | None = None
) -> Window:
    """Split the day's routes for a run at ``day.window_start``."""
    p = day.parameters
    start = day.window_start
    end = start + timedelta(hours=p.window_h)
    freeze_end = start + timedelta(minutes=p.freeze_horizon_min)
    prev = _previous(day, trigger, previous)
    started: dict[str, str] = {}
    frozen: dict[str, str] = {}
    routes: list[Route] = []
    passed: list[str] = []
    cancelled: list[str] = []
    deferred: list[str] = []
    for r in day.routes:
        if r.status is RouteStatus.CANCELLED:
            cancelled.append(r.route_id)
        elif r.status is RouteStatus.STARTED:
            vid = _started_vehicle(day, r, prev)
            if r.end > start:
                started[r.route_id] = vid
                routes.append(r)
        elif r.start < start:
            passed.append(r.route_id)
        elif r.start >= end:
            deferred.append(r.route_id)
        else:
            routes.append(r)
            if r.start < freeze_end and r.route_id in prev:
                frozen[r.route_id] = prev[r.route_id]
    ctx = Context(p, start, end, started, dict(started), prev)
    routes.sort(key=lambda r: (r.start, r.route_id))
    return Window(ctx, tuple(routes), frozen, tuple(passed), tuple(cancelled), tuple(deferred))
