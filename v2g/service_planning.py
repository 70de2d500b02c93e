"""The service's planning side: fleet memory, route watching and the periodic planning jobs.

``async with PlanningService(db, registry, sites, ...) as planning:`` (entered by
:class:`~v2g.service.Service`) starts

* the event-loop lag monitor (``v2g_event_loop_lag_seconds``), always;
* the fleet recorder: live vehicle state into ``t_vehicle``; a vehicle going offline
  triggers ``vehicle_unavailable``;
* when planning is on, for each served site that is in the database: a worker process for
  the solves, the planning jobs (allocation then post-allocation scheduling, stored and
  published retained per vehicle) and the route watcher (new and cancelled routes trigger
  runs). A site missing from the database is logged once and not planned (seed it with
  ``v2g db seed``; the service picks it up on its next start).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

import structlog

from allocation import Trigger
from dispatch.ports import Clock
from fleet import FleetRegistry
from metrics import MetricsSink
from v2g.jobs import LoopLagMonitor, PlanningJobs, ProcessOffload, SchedulePublish
from v2g.logs import configure_logging
from v2g.planning.run import planner
from v2g.site_params import SiteParameterError
from v2g.storage import Database, StorageError
from v2g.storage.sites import get_site, load_site_config
from v2g.watchers import FleetRecorder, RouteWatcher

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL_S = 900.0


class PlanningService:
    """Owns the planning side's tasks; see the module docstring."""

    def __init__(
        self,
        db: Database,
        registry: FleetRegistry,
        sites: tuple[str, ...],
        *,
        sink: MetricsSink,
        clock: Clock,
        publish_schedule: SchedulePublish | None,
        enabled: bool = True,
        workers: int = 1,
        solve_timeout_s: float | None = 600.0,
        record_every_s: float = 5.0,
        route_poll_s: float = 10.0,
        settle_s: float = 2.0,
        log_level: str = "INFO",
    ) -> None:
        self.db = db
        self.sites = sites
        self.sink = sink
        self.clock = clock
        self.publish_schedule = publish_schedule
        self.enabled = enabled
        self.workers = workers
        self.solve_timeout_s = solve_timeout_s
        self.record_every_s = record_every_s
        self.route_poll_s = route_poll_s
        self.settle_s = settle_s
        self.log_level = log_level
        self.lag = LoopLagMonitor(sink)
        self.recorder = FleetRecorder(db, registry, sites, clock=clock, on_trigger=self.trigger)
        self.jobs: PlanningJobs | None = None
        self.watcher: RouteWatcher | None = None
        self._intervals: dict[str, float] = {}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self.lag)
            group = await stack.enter_async_context(_Group())
            group.start(self.recorder.run(self.record_every_s), "fleet-recorder")
            planned = await self._planned_sites() if self.enabled else ()
            if planned:
                offload = ProcessOffload(
                    max_workers=self.workers,
                    timeout_s=self.solve_timeout_s,
                    initializer=configure_logging,
                    initargs=(self.log_level,),
                )
                await stack.enter_async_context(offload)
                await offload.warm("allocation", "scheduling")
                self.jobs = await stack.enter_async_context(
                    PlanningJobs(
                        planner(self.db, clock=self.clock),
                        offload,
                        planned,
                        interval_s=self._interval,
                        sink=self.sink,
                        publish_schedules=self.publish_schedule,
                        settle_s=self.settle_s,
                        clock=self.clock,
                    )
                )
                self.watcher = RouteWatcher(self.db, planned, self.trigger)
                await self.watcher.check()  # the baseline, before anything can change
                group.start(self.watcher.run(self.route_poll_s), "route-watcher")
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)

    def trigger(self, site_id: str, trigger: Trigger, detail: str) -> None:
        """Ask for a planning run of ``site_id`` (ignored when the site is not planned)."""
        if self.jobs is not None and site_id in self.jobs.sites:
            self.jobs.trigger(site_id, trigger, detail)

    def _interval(self, site_id: str) -> float:
        return self._intervals.get(site_id, DEFAULT_INTERVAL_S)

    async def _planned_sites(self) -> tuple[str, ...]:
        """The served sites present in the database, with their rolling interval."""
        planned = []
        for site in self.sites:
            try:
                if await get_site(self.db, site) is None:
                    log.warning("site_not_planned", site_id=site, why="not in the database")
                    continue
                config = await load_site_config(self.db, site)
            except (StorageError, SiteParameterError) as exc:
                log.error("site_not_planned", site_id=site, why=str(exc))
                continue
            self._intervals[site] = config.allocation_interval_s
            planned.append(site)
        return tuple(planned)


class _Group:
    """A task group whose tasks are cancelled on exit (they run forever otherwise)."""

    def __init__(self) -> None:
        self._group = asyncio.TaskGroup()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(self._group.create_task(coro, name=name))

    async def __aenter__(self) -> Self:
        await self._group.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await self._group.__aexit__(None, None, None)
