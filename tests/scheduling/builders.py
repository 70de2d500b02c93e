"""Small scenarios written out by hand for the scheduling tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduling import PricePoint, Route, ScheduleProblem, SiteParameters, VehicleSpec

T0 = datetime(2024, 12, 30, 14, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """``hours`` after the window start."""
    return T0 + timedelta(hours=hours)


def vehicle(vid: str = "ev1", **kw: Any) -> VehicleSpec:
    """A 60 kWh van at 50 %, 11 kW, 0.2 kWh/km unless told otherwise."""
    base: dict[str, Any] = {
        "vehicle_id": vid,
        "battery_kwh": 60.0,
        "ac_charge_rate_kw": 11.0,
        "efficiency_kwh_per_km": 0.2,
        "soc_pct": 50.0,
    }
    base.update(kw)
    return VehicleSpec(**base)


def route(rid: str, vid: str | None, dep_h: float, ret_h: float, **kw: Any) -> Route:
    """A route leaving ``dep_h`` and back ``ret_h`` hours after the window start."""
    return Route(route_id=rid, vehicle_id=vid, departure=at(dep_h), return_at=at(ret_h), **kw)


def half_hour_prices(values: Sequence[float], triad: Sequence[int] = ()) -> tuple[PricePoint, ...]:
    """One price per 30-minute slot from the window start."""
    return tuple(
        PricePoint(start=at(i / 2), price_eur_per_kwh=p, triad=i in triad)
        for i, p in enumerate(values)
    )


def problem(
    vehicles: Sequence[VehicleSpec],
    routes: Sequence[Route] = (),
    *,
    prices: Sequence[float] | None = None,
    window_h: float = 4.0,
    capacity_kw: float = 1000.0,
    **site: Any,
) -> ScheduleProblem:
    """A problem over ``window_h`` hours with flat prices unless given."""
    n = 24 * 2
    values = list(prices) if prices is not None else [0.2] * n
    values += [values[-1]] * (n - len(values))
    params: dict[str, Any] = {"site_capacity_kw": capacity_kw, "target_soc_pct": 0.0}
    params.update(site)
    return ScheduleProblem(
        window_start=T0,
        planning_window_h=window_h,
        vehicles=tuple(vehicles),
        routes=tuple(routes),
        prices=half_hour_prices(values),
        site=SiteParameters(**params),
    )
