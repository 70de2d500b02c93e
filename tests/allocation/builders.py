"""Small depot days written out by hand for the allocation tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from allocation import AllocationParameters, DepotDay, Route, Vehicle

T0 = datetime(2026, 2, 11, 4, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """``hours`` after T0."""
    return T0 + timedelta(hours=hours)


def vehicle(vid: str = "ev1", **kw: Any) -> Vehicle:
    """A 60 kWh van at 80 %, 11 kW, 0.2 kWh/km, available all day, unless told otherwise."""
    base: dict[str, Any] = {
        "vehicle_id": vid,
        "battery_kwh": 60.0,
        "efficiency_kwh_per_km": 0.2,
        "soc_pct": 80.0,
        "charge_rate_kw": 11.0,
    }
    base.update(kw)
    return Vehicle(**base)


def route(rid: str, start_h: float, end_h: float, **kw: Any) -> Route:
    """A route from ``start_h`` to ``end_h`` hours after T0; 10 kWh unless told otherwise."""
    if "distance_km" not in kw and "energy_kwh" not in kw:
        kw["energy_kwh"] = 10.0
    return Route(route_id=rid, start=at(start_h), end=at(end_h), **kw)


def day(
    vehicles: Sequence[Vehicle],
    routes: Sequence[Route],
    *,
    start_h: float = 0.0,
    **params: Any,
) -> DepotDay:
    """A day whose window starts ``start_h`` hours after T0."""
    return DepotDay(
        site_id="test",
        window_start=at(start_h),
        routes=tuple(routes),
        vehicles=tuple(vehicles),
        parameters=AllocationParameters(**params),
    )
