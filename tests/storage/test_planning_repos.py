"""The planning repositories: vehicles, routes, prices and forecasts, stored runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from allocation import AllocateOptions, Method, RouteStatus, Trigger, allocate, synthetic_day
from fleet import Vehicle as FleetVehicle
from scheduling import LoadPoint, Mode, PricePoint, ScheduleOptions, schedule
from scheduling import Method as ScheduleMethod
from tests.storage.small_site import NOW, ROUTES, SITE, at, hourly_prices, route, vehicle
from v2g.planning.coverage import uncovered
from v2g.simulate_day import schedule_problem
from v2g.storage import Database
from v2g.storage.market import (
    load_forecast_between,
    prices_between,
    put_load_forecast,
    put_prices,
)
from v2g.storage.plans import (
    allocated_routes,
    latest_allocation,
    latest_schedule,
    store_allocation,
    store_schedule,
    vehicle_schedule,
)
from v2g.storage.routes import (
    cancel_route,
    fingerprint,
    route_statuses,
    routes_between,
    upsert_routes,
)
from v2g.storage.vehicles import (
    get_vehicle,
    insert_discovered,
    list_vehicles,
    upsert_telemetry,
    upsert_vehicles,
)

H = timedelta(hours=1)


def telemetry(vid: str, soc_pct: float, minutes: float, **kw: object) -> FleetVehicle:
    """What the MQTT edge makes of a status message ``minutes`` after NOW."""
    data: dict[str, object] = {
        "vehicle_id": vid,
        "site_id": SITE,
        "soc_pct": soc_pct,
        "battery_kwh": 99.0,
        "max_charge_kw": 3.0,
        "max_discharge_kw": 3.0,
        "online": True,
        "plugged_in": False,
        "availability": 0.8,
        "updated_at": NOW + timedelta(minutes=minutes),
    }
    data.update(kw)
    return FleetVehicle.model_validate(data)


async def test_telemetry_updates_live_state_and_never_master_data(db: Database) -> None:
    """MQTT writes SoC and presence only; battery, ratings and type stay the fleet's records."""
    await upsert_vehicles(db, [vehicle("ev1", vehicle_type="large_van")], now=NOW)
    await upsert_telemetry(db, [telemetry("ev1", 81.0, 5)], now=NOW)
    v = await get_vehicle(db, SITE, "ev1")
    assert v is not None
    assert (v.soc_pct, v.online, v.plugged_in, v.availability) == (81.0, True, False, 0.8)
    assert (v.battery_kwh, v.max_charge_kw, v.vehicle_type) == (60.0, 11.0, "large_van")
    assert v.state_at == NOW + timedelta(minutes=5)


async def test_older_state_never_replaces_newer(db: Database) -> None:
    """A late telemetry message and a re-seed with an old state leave the newest SoC in place."""
    await upsert_vehicles(db, [vehicle("ev1", 40.0)], now=NOW)
    await upsert_telemetry(db, [telemetry("ev1", 81.0, 10)], now=NOW)
    await upsert_telemetry(db, [telemetry("ev1", 70.0, 5)], now=NOW)
    await upsert_vehicles(db, [vehicle("ev1", 40.0, battery_kwh=62.0)], now=NOW)
    v = await get_vehicle(db, SITE, "ev1")
    assert v is not None
    assert (v.soc_pct, v.battery_kwh) == (81.0, 62.0)


async def test_a_vehicle_first_seen_over_mqtt_is_inserted(db: Database) -> None:
    """Telemetry of an unknown vehicle inserts it with the telemetry's ratings; insert_discovered
    leaves known vehicles alone."""
    await upsert_telemetry(db, [telemetry("ev9", 55.0, 0)], now=NOW)
    await upsert_vehicles(db, [vehicle("ev1", 40.0)], now=NOW)
    await insert_discovered(db, [telemetry("ev1", 99.0, 60), telemetry("ev8", 30.0, 0)], now=NOW)
    found = {v.vehicle_id: v for v in await list_vehicles(db, SITE)}
    assert sorted(found) == ["ev1", "ev8", "ev9"]
    assert (found["ev9"].battery_kwh, found["ev9"].efficiency_kwh_per_km) == (99.0, None)
    assert found["ev1"].soc_pct == 40.0
    assert found["ev9"].to_fleet_vehicle().soc_pct == 55.0


async def test_routes_upsert_window_and_cancel(db: Database) -> None:
    """Routes read back by window overlap; cancelling changes status and the fingerprint."""
    counts = await upsert_routes(db, SITE, ROUTES, now=NOW)
    assert (counts.inserted, counts.updated, counts.unchanged) == (6, 0, 0)
    assert await routes_between(db, SITE, at(0), at(1.5)) == []
    window = await routes_between(db, SITE, at(4), at(7))  # r4 starts at 7: outside
    assert [r.route_id for r in window] == ["r1", "r2", "r3"]
    assert window[0] == ROUTES[0]
    before = await fingerprint(db, SITE)
    assert before.count == 6
    assert await cancel_route(db, SITE, "r3", now=NOW + H)
    assert not await cancel_route(db, SITE, "r3", now=NOW + 2 * H)
    assert not await cancel_route(db, SITE, "nope", now=NOW + 2 * H)
    after = await fingerprint(db, SITE)
    assert after != before
    assert after.last_change == NOW + H
    statuses = await route_statuses(db, SITE, ending_after=at(8))
    assert statuses == {
        "r3": RouteStatus.CANCELLED,
        "r4": RouteStatus.PLANNED,
        "r5": RouteStatus.PLANNED,
        "r6": RouteStatus.PLANNED,
    }


async def test_an_unchanged_route_plan_keeps_its_fingerprint(db: Database) -> None:
    """Re-writing the same routes changes nothing; a moved route is one update."""
    await upsert_routes(db, SITE, ROUTES, now=NOW)
    first = await fingerprint(db, SITE)
    again = await upsert_routes(db, SITE, ROUTES, now=NOW + H)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert await fingerprint(db, SITE) == first
    moved = await upsert_routes(db, SITE, [route("r6", 12.5, 15.0, 50)], now=NOW + H)
    assert (moved.inserted, moved.updated) == (0, 1)
    assert (await fingerprint(db, SITE)).last_change == NOW + H


async def test_prices_keep_triad_flags_and_their_gap(db: Database) -> None:
    """A day with one missing hour reads back with the point in force at the window start;
    the one-hour hole is covered, a longer one is reported."""
    day = NOW.replace(hour=0, minute=0)
    points = [p for p in hourly_prices(day, 24) if p.start.hour != 18]
    assert await put_prices(db, SITE, points) == 23
    found = await prices_between(db, SITE, day + timedelta(hours=16, minutes=30), day + 24 * H)
    assert [p.start.hour for p in found] == [16, 17, 19, 20, 21, 22, 23]
    assert [p.triad for p in found] == [False, True, False, False, False, False, False]
    assert found[0] == points[16]
    assert uncovered(found, day + 16 * H, day + 24 * H, max_gap=2 * H) == []
    assert uncovered(found, day + 16 * H, day + 26 * H, max_gap=2 * H) == [
        (day + 24 * H, day + 26 * H)
    ]
    assert uncovered(found, day + 16 * H, day + 24 * H, max_gap=H) == [(day + 18 * H, day + 19 * H)]


async def test_writing_prices_again_replaces_their_span(db: Database) -> None:
    """Seeding the same span twice leaves one point per hour, with the newer values."""
    day = NOW.replace(hour=0, minute=0)
    await put_prices(db, SITE, hourly_prices(day, 6))
    newer = [PricePoint(start=day + i * H, price_eur_per_kwh=-0.01) for i in range(2, 4)]
    await put_prices(db, SITE, newer)
    found = await prices_between(db, SITE, day, day + 6 * H)
    assert len(found) == 6
    assert [p.price_eur_per_kwh for p in found[2:4]] == [-0.01, -0.01]


async def test_load_forecast_round_trips(db: Database) -> None:
    """Half-hourly load reads back from the point in force at the window start."""
    points = [LoadPoint(start=at(h / 2), load_kw=10.0 + h) for h in range(8)]
    assert await put_load_forecast(db, SITE, points) == 8
    found = await load_forecast_between(db, SITE, at(0.75), at(2))
    assert found == points[1:4]


async def test_allocations_store_and_load_the_latest(db: Database) -> None:
    """The latest stored allocation reads back exactly, with its route rows."""
    day = synthetic_day(8, start=NOW, window_h=12.0, seed=3, site_id=SITE)
    result = allocate(day, options=AllocateOptions(method=Method.GREEDY))
    first = await store_allocation(db, result, recorded_at=NOW)
    rerun = allocate(day, trigger=Trigger.ROLLING, previous=result)
    second = await store_allocation(db, rerun, recorded_at=NOW)  # same instant: still later
    latest = await latest_allocation(db, SITE)
    assert latest is not None
    assert (latest.run_id, latest.result) == (second, rerun)
    assert latest.created_at > NOW
    assert await allocated_routes(db, first) == result.vehicle_of()
    assert await latest_allocation(db, "elsewhere") is None


async def test_schedules_store_and_load_per_site_and_vehicle(db: Database) -> None:
    """A stored plan reads back whole, and each vehicle's slots come back in order."""
    day = synthetic_day(8, start=NOW, window_h=12.0, seed=3, site_id=SITE)
    result = allocate(day, options=AllocateOptions(method=Method.GREEDY))
    run = await store_allocation(db, result, recorded_at=NOW)
    plan = schedule(schedule_problem(day, result), ScheduleOptions(method=ScheduleMethod.GREEDY))
    sid = await store_schedule(
        db, plan, mode=Mode.POST_ALLOCATION, recorded_at=NOW, allocation_run_id=run
    )
    stored = await latest_schedule(db, SITE)
    assert stored is not None
    assert (stored.run_id, stored.allocation_run_id, stored.mode) == (
        sid,
        run,
        Mode.POST_ALLOCATION,
    )
    assert stored.plan == plan
    v = plan.vehicles[0]
    slots = await vehicle_schedule(db, SITE, v.vehicle_id)
    assert slots is not None
    assert [kw for _, kw in slots.slots] == pytest.approx(list(v.power_kw))
    assert slots.slots[0][0] == plan.window_start
    assert await vehicle_schedule(db, SITE, "nobody") is None
