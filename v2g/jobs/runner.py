"""The periodic planning jobs of ``v2g serve``: one task per site, its runs never overlapping.

``async with PlanningJobs(plan, offload, sites, interval_s=900.0, sink=sink,
publish_schedules=publisher.publish_schedule) as jobs:`` starts a task ``jobs:{site}`` per
site (a :class:`~v2g.jobs.site.SiteJob`) in the jobs' own task group. Each one runs
``plan(site, trigger, offload)``:

1. ``initial`` at start (after ``start_delay_s``);
2. then ``rolling`` ``interval_s(site)`` after the previous run started, or sooner when
   :meth:`PlanningJobs.trigger` asks: triggers are coalesced and debounced by the site's
   :class:`~v2g.jobs.triggers.TriggerQueue`, so a burst makes one run of the strongest trigger.

A run that raises (a solver, the database, a :class:`~v2g.jobs.errors.JobTimeoutError`) is
logged, counted, and retried after a full-jitter exponential backoff
(``retry_initial_s * 2**n`` capped at ``retry_max_s``); nothing stops the other sites or
the service. A run that succeeds is counted (:mod:`v2g.jobs.report`) and every vehicle's
schedule is published (:mod:`v2g.jobs.publish`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from types import TracebackType
from typing import Self

import structlog

from allocation import Trigger
from dispatch.ports import Clock
from metrics import MetricsSink
from v2g.clock import SystemClock
from v2g.jobs.offload import Offload
from v2g.jobs.publish import SchedulePublish
from v2g.jobs.site import PlanFn, SiteJob
from v2g.jobs.triggers import Pending, TriggerQueue
from v2g.mqtt.transport import backoff_delays
from v2g.planning.outcome import PlanOutcome

log = structlog.get_logger(__name__)


class PlanningJobs:
    """An async context manager running every site's planning job in its own task group."""

    def __init__(
        self,
        plan: PlanFn,
        offload: Offload,
        sites: Sequence[str],
        *,
        interval_s: Callable[[str], float] | float,
        sink: MetricsSink,
        publish_schedules: SchedulePublish | None,
        retry_initial_s: float = 5.0,
        retry_max_s: float = 300.0,
        start_delay_s: float = 0.0,
        settle_s: float = 2.0,
        max_settle_s: float = 10.0,
        publish_concurrency: int = 32,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if isinstance(sites, str) or not sites or len(set(sites)) != len(sites):
            raise ValueError("sites must be given, each once")
        interval = interval_s if callable(interval_s) else _constant(interval_s)
        if any(interval(site) <= 0 for site in sites):
            raise ValueError("interval_s must be > 0 for every site")
        if not 0 < retry_initial_s <= retry_max_s:
            raise ValueError("need 0 < retry_initial_s <= retry_max_s")
        rand = rng if rng is not None else random.Random()

        def retry_delays() -> Iterator[float]:
            return backoff_delays(retry_initial_s, retry_max_s, rand)

        self.sites = tuple(sites)
        self._jobs = {
            site: SiteJob(
                site,
                plan=plan,
                offload=offload,
                queue=TriggerQueue(settle_s=settle_s, max_settle_s=max_settle_s),
                interval_s=partial(interval, site),
                retry_delays=retry_delays,
                sink=sink,
                publish=publish_schedules,
                clock=clock if clock is not None else SystemClock(),
                start_delay_s=start_delay_s,
                publish_concurrency=publish_concurrency,
            )
            for site in self.sites
        }
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        """Start one task per site."""
        group = asyncio.TaskGroup()
        await group.__aenter__()
        self._group = group
        self._tasks = [
            group.create_task(job.run_forever(), name=f"jobs:{site}")
            for site, job in self._jobs.items()
        ]
        log.info("planning_jobs_started", sites=list(self.sites))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Cancel every site's task (a run in progress is abandoned) and wait for them."""
        for task in self._tasks:
            task.cancel()
        group, self._group = self._group, None
        if group is not None:
            await group.__aexit__(None, None, None)
        log.info("planning_jobs_stopped")

    def _job(self, site_id: str) -> SiteJob:
        job = self._jobs.get(site_id)
        if job is None:
            raise KeyError(f"site {site_id!r} is not served by these planning jobs")
        return job

    def trigger(self, site_id: str, trigger: Trigger, detail: str | None = None) -> None:
        """Ask for a run of ``site_id`` soon; :class:`KeyError` if the site is not served."""
        self._job(site_id).queue.put(trigger, detail)
        log.debug("planning_triggered", site_id=site_id, trigger=trigger.value, detail=detail)

    def pending(self, site_id: str) -> Pending | None:
        """The triggers waiting for the next run of ``site_id``."""
        return self._job(site_id).queue.pending

    def last_outcome(self, site_id: str) -> PlanOutcome | None:
        """What the last successful run of ``site_id`` produced."""
        return self._job(site_id).last_outcome

    def runs(self, site_id: str) -> int:
        """Successful runs of ``site_id`` so far."""
        return self._job(site_id).runs

    def failures(self, site_id: str) -> int:
        """Failed runs of ``site_id`` so far (each one retried)."""
        return self._job(site_id).failures

    async def wait_for_run(self, site_id: str, *, after: int | None = None) -> PlanOutcome:
        """The latest outcome once more than ``after`` (default: the current count) runs ended."""
        return await self._job(site_id).wait_for_run(after)


def _constant(seconds: float) -> Callable[[str], float]:
    return lambda _site: seconds
