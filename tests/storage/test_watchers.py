"""The service's watchers: live vehicle state into t_vehicle, route changes into triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from allocation import Route, Trigger
from fleet import FleetRegistry
from fleet import Vehicle as FleetVehicle
from v2g.storage import Database
from v2g.storage.routes import cancel_route, upsert_routes
from v2g.storage.vehicles import list_vehicles
from v2g.watchers import FleetRecorder, RouteWatcher

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


class FixedClock:
    """A clock that says what the test sets."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def _vehicle(vid: str, soc: float, *, online: bool = True, at: datetime = T0) -> FleetVehicle:
    return FleetVehicle(
        vehicle_id=vid,
        site_id="10",
        soc_pct=soc,
        battery_kwh=75.0,
        max_charge_kw=11.0,
        max_discharge_kw=10.0,
        online=online,
        updated_at=at,
    )


def _route(rid: str, hour: int) -> Route:
    start = T0 + timedelta(hours=hour)
    return Route(route_id=rid, start=start, end=start + timedelta(hours=2), distance_km=80.0)


class Triggers:
    """Collects (site, trigger, detail) calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Trigger, str]] = []

    def __call__(self, site: str, trigger: Trigger, detail: str) -> None:
        self.calls.append((site, trigger, detail))


async def test_recorder_writes_changed_vehicles_only(db: Database) -> None:
    """Vehicles are written once per change; an unchanged registry writes nothing."""
    registry = FleetRegistry()
    registry.upsert(_vehicle("ev1", 50.0))
    registry.upsert(_vehicle("ev2", 60.0))
    recorder = FleetRecorder(db, registry, ["10"], clock=FixedClock(T0))
    assert await recorder.record() == 2
    assert await recorder.record() == 0
    registry.upsert(_vehicle("ev1", 55.0, at=T0 + timedelta(minutes=1)))
    assert await recorder.record() == 1
    stored = {v.vehicle_id: v.soc_pct for v in await list_vehicles(db, "10")}
    assert stored == {"ev1": 55.0, "ev2": 60.0}


async def test_vehicle_going_offline_triggers_a_run(db: Database) -> None:
    """online -> offline fires vehicle_unavailable for its site; the state is stored."""
    registry = FleetRegistry()
    registry.upsert(_vehicle("ev1", 50.0))
    triggers = Triggers()
    recorder = FleetRecorder(db, registry, ["10"], clock=FixedClock(T0), on_trigger=triggers)
    await recorder.record()
    registry.set_online("10", "ev1", False)
    await recorder.record()
    assert triggers.calls == [("10", Trigger.VEHICLE_UNAVAILABLE, "vehicle ev1 offline")]
    assert not (await list_vehicles(db, "10"))[0].online


async def test_route_changes_become_triggers(db: Database) -> None:
    """The first look is a baseline; then new and cancelled routes fire their triggers once."""
    await upsert_routes(db, "10", [_route("r1", 1), _route("r2", 3)], now=T0)
    triggers = Triggers()
    watcher = RouteWatcher(db, ["10"], triggers)
    assert await watcher.check() == 0
    assert await watcher.check() == 0
    await upsert_routes(db, "10", [_route("r3", 5)], now=T0 + timedelta(seconds=1))
    await cancel_route(db, "10", "r1", now=T0 + timedelta(seconds=2))
    assert await watcher.check() == 2
    assert sorted(t for _, t, _ in triggers.calls) == sorted(
        [Trigger.NEW_ROUTE, Trigger.CANCELLATION]
    )
    assert await watcher.check() == 0
