"""Move a depot day forward in time, as the day's events would.

``advance(day, allocation, now)`` is the day as known at ``now``: routes the allocation gave
a vehicle and whose start has passed are on the road (``started``), cancelled routes are
marked, vehicles' states of charge are updated when given. Simulations and tests use it to
produce the input of a re-run; the service gets the same facts from telemetry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from allocation.models import DepotDay, Route, RouteStatus
from allocation.result import AllocationResult


def advance(
    day: DepotDay,
    allocation: AllocationResult,
    now: datetime,
    *,
    cancel: Iterable[str] = (),
    soc_pct: Mapping[str, float] | None = None,
) -> DepotDay:
    """The day at ``now`` after ``allocation`` was followed and ``cancel`` were cancelled."""
    given = allocation.vehicle_of()
    cancelled = set(cancel)
    unknown = cancelled - {r.route_id for r in day.routes}
    if unknown:
        raise ValueError(f"cannot cancel unknown routes: {sorted(unknown)}")
    routes: list[Route] = []
    for r in day.routes:
        if r.route_id in cancelled:
            routes.append(r.model_copy(update={"status": RouteStatus.CANCELLED}))
        elif r.status is RouteStatus.PLANNED and r.start <= now and r.route_id in given:
            update = {"status": RouteStatus.STARTED, "planned_vehicle_id": given[r.route_id]}
            routes.append(r.model_copy(update=update))
        else:
            routes.append(r)
    socs = soc_pct or {}
    vehicles = tuple(
        v.model_copy(update={"soc_pct": socs[v.vehicle_id]}) if v.vehicle_id in socs else v
        for v in day.vehicles
    )
    return day.model_copy(
        update={"window_start": now, "routes": tuple(routes), "vehicles": vehicles}
    )
