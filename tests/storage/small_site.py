"""A small site written to the database through the repositories, for the planning tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from allocation import Route
from scheduling import LoadPoint, PricePoint
from v2g.storage import Database
from v2g.storage.market import put_load_forecast, put_prices
from v2g.storage.routes import upsert_routes
from v2g.storage.sites import put_parameter_set, upsert_site
from v2g.storage.vehicles import VehicleRecord, upsert_vehicles

SITE = "10"
NOW = datetime(2024, 12, 31, 4, 30, tzinfo=UTC)
SEEDED_AT = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
PARAMETERS = {
    "site_capacity_kw": 60.0,
    "allocation_time_limit_s": 5.0,
    "schedule_time_limit_s": 5.0,
    "time_preference_eur_per_kwh": 0.002,
}


def at(hours: float) -> datetime:
    """``hours`` after :data:`NOW`."""
    return NOW + timedelta(hours=hours)


def vehicle(vid: str, soc_pct: float = 50.0, **kw: object) -> VehicleRecord:
    """A 60 kWh van, 11 kW, 0.2 kWh/km, measured just before :data:`NOW`."""
    data: dict[str, object] = {
        "site_id": SITE,
        "vehicle_id": vid,
        "battery_kwh": 60.0,
        "efficiency_kwh_per_km": 0.2,
        "max_charge_kw": 11.0,
        "max_discharge_kw": 7.0,
        "soc_pct": soc_pct,
        "plugged_in": True,
        "state_at": NOW - timedelta(minutes=30),
    }
    data.update(kw)
    return VehicleRecord.model_validate(data)


def route(rid: str, start_h: float, end_h: float, km: float, vid: str | None = None) -> Route:
    """A route ``start_h`` to ``end_h`` hours after :data:`NOW`."""
    return Route(
        route_id=rid,
        site_id=SITE,
        planned_vehicle_id=vid,
        start=at(start_h),
        end=at(end_h),
        distance_km=km,
    )


ROUTES = (  # any vehicle's day stays within one battery (see docs/storage.md, open points)
    route("r1", 1.5, 4.5, 60, "ev1"),
    route("r2", 2.0, 5.0, 70, "ev2"),
    route("r3", 6.0, 9.0, 50, "ev1"),
    route("r4", 7.0, 10.0, 80),
    route("r5", 11.0, 14.0, 70, "ev3"),
    route("r6", 12.0, 15.0, 50),
)


def hourly_prices(start: datetime, hours: int) -> list[PricePoint]:
    """Cheap at night, dear in the evening (17:00 flagged as TRIAD), EUR/kWh."""
    out = []
    for i in range(hours):
        when = start + timedelta(hours=i)
        price = 0.25 if 16 <= when.hour < 20 else 0.08 + 0.01 * (when.hour % 5)
        out.append(PricePoint(start=when, price_eur_per_kwh=price, triad=when.hour == 17))
    return out


async def seed_small_site(db: Database) -> None:
    """Three vans, six routes, a day of prices and a flat load forecast."""
    await upsert_site(db, SITE, now=SEEDED_AT, name="small depot")
    await put_parameter_set(db, SITE, "default", PARAMETERS, now=SEEDED_AT)
    await upsert_vehicles(
        db, [vehicle("ev1", 70.0), vehicle("ev2", 45.0), vehicle("ev3", 60.0)], now=SEEDED_AT
    )
    await upsert_routes(db, SITE, ROUTES, now=SEEDED_AT)
    day = NOW.replace(hour=0, minute=0)
    await put_prices(db, SITE, hourly_prices(day, 48))
    loads = [LoadPoint(start=day + timedelta(hours=h), load_kw=10.0) for h in range(48)]
    await put_load_forecast(db, SITE, loads)
