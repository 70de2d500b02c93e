"""What the service watches besides signals: the fleet's live state and the route plan.

* :class:`FleetRecorder` writes the registry's vehicles to ``t_vehicle`` every few seconds
  (only those that changed) and reports vehicles that went offline;
* :class:`RouteWatcher` polls the route plan's cheap fingerprint and, when it moves, diffs the
  route statuses into triggers: new routes, cancelled routes.

Both call back with ``(site_id, trigger, detail)``; the planning jobs coalesce the calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog

from allocation import RouteStatus, Trigger
from dispatch.ports import Clock
from fleet import FleetRegistry
from fleet import Vehicle as FleetVehicle
from v2g.storage import Database, StorageError
from v2g.storage.routes import RouteFingerprint, fingerprint, route_statuses
from v2g.storage.vehicles import upsert_telemetry

log = structlog.get_logger(__name__)

OnTrigger = Callable[[str, Trigger, str], None]


class FleetRecorder:
    """Persists live vehicle state; tells ``on_trigger`` when a vehicle goes offline."""

    def __init__(
        self,
        db: Database,
        registry: FleetRegistry,
        sites: Sequence[str],
        *,
        clock: Clock,
        on_trigger: OnTrigger | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.sites = tuple(sites)
        self.clock = clock
        self.on_trigger = on_trigger
        self._written: dict[tuple[str, str], FleetVehicle] = {}

    async def record(self) -> int:
        """Write every vehicle whose state changed since the last call; return how many."""
        changed: list[FleetVehicle] = []
        for site in self.sites:
            for vehicle in self.registry.snapshot(site):
                key = (site, vehicle.vehicle_id)
                before = self._written.get(key)
                if before is vehicle:
                    continue  # the registry replaces a vehicle on every change
                changed.append(vehicle)
                if before is not None and before.online and not vehicle.online:
                    self._offline(site, vehicle.vehicle_id)
        if changed:
            await upsert_telemetry(self.db, changed, now=self.clock.now())
            for vehicle in changed:  # only once written: a failed write is retried next time
                self._written[(vehicle.site_id, vehicle.vehicle_id)] = vehicle
        return len(changed)

    def _offline(self, site: str, vehicle_id: str) -> None:
        log.info("vehicle_went_offline", site_id=site, vehicle_id=vehicle_id)
        if self.on_trigger is not None:
            self.on_trigger(site, Trigger.VEHICLE_UNAVAILABLE, f"vehicle {vehicle_id} offline")

    async def run(self, every_s: float = 5.0) -> None:
        """Record forever; a database error is logged and the next round tries again."""
        while True:
            try:
                await self.record()
            except StorageError as exc:
                log.warning("fleet_record_failed", error=str(exc))
            await asyncio.sleep(every_s)


class RouteWatcher:
    """Turns changes of the route plan into planning triggers."""

    def __init__(self, db: Database, sites: Sequence[str], on_trigger: OnTrigger) -> None:
        self.db = db
        self.sites = tuple(sites)
        self.on_trigger = on_trigger
        self._prints: dict[str, RouteFingerprint] = {}
        self._statuses: dict[str, dict[str, RouteStatus]] = {}

    async def check(self) -> int:
        """Compare every site with the last check; fire triggers; return how many fired."""
        fired = 0
        for site in self.sites:
            now = await fingerprint(self.db, site)
            if self._prints.get(site) == now:
                continue
            statuses = await route_statuses(self.db, site)
            before = self._statuses.get(site)
            self._prints[site], self._statuses[site] = now, statuses
            if before is None:
                continue  # the first look is the baseline; the initial run covers it
            fired += self._diff(site, before, statuses)
        return fired

    def _diff(
        self, site: str, before: dict[str, RouteStatus], after: dict[str, RouteStatus]
    ) -> int:
        fired = 0
        for route_id, status in after.items():
            was = before.get(route_id)
            if was is None and status is not RouteStatus.CANCELLED:
                self.on_trigger(site, Trigger.NEW_ROUTE, f"route {route_id} added")
                fired += 1
            elif status is RouteStatus.CANCELLED and was is not RouteStatus.CANCELLED:
                self.on_trigger(site, Trigger.CANCELLATION, f"route {route_id} cancelled")
                fired += 1
        return fired

    async def run(self, every_s: float = 10.0) -> None:
        """Check forever; a database error is logged and the next round tries again."""
        while True:
            try:
                await self.check()
            except StorageError as exc:
                log.warning("route_watch_failed", error=str(exc))
            await asyncio.sleep(every_s)
