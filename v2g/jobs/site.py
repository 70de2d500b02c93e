"""One site's planning job: its trigger queue, its counters and the loop that runs it.

The loop runs ``initial`` first, then waits for the earlier of its next rolling run
(``interval_s()`` after the previous run started) and a settled batch of triggers. Runs follow
one another in this one task, so two runs of a site never overlap. A run that raises is
logged, counted and retried after the next backoff delay, merged with the triggers that came
meanwhile; the backoff starts again after a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import structlog

from allocation import Trigger
from dispatch.ports import Clock
from metrics import MetricsSink
from v2g.jobs.errors import JobError
from v2g.jobs.offload import Offload
from v2g.jobs.publish import SchedulePublish, publish_schedules
from v2g.jobs.report import record_failure, record_success
from v2g.jobs.triggers import Pending, TriggerQueue
from v2g.planning.outcome import PlanOutcome

log = structlog.get_logger(__name__)

PlanFn = Callable[[str, Trigger, Offload], Awaitable[PlanOutcome]]

DEFAULT_INTERVAL_S = 900.0  # used only while a site's interval setting is broken
LOGGED_DETAILS = 20


class SiteJob:
    """Runs ``plan`` for one site, one run at a time, forever (until cancelled)."""

    def __init__(
        self,
        site_id: str,
        *,
        plan: PlanFn,
        offload: Offload,
        queue: TriggerQueue,
        interval_s: Callable[[], float],
        retry_delays: Callable[[], Iterator[float]],
        sink: MetricsSink,
        publish: SchedulePublish | None,
        clock: Clock,
        start_delay_s: float = 0.0,
        publish_concurrency: int = 32,
    ) -> None:
        self.site_id = site_id
        self.queue = queue
        self.runs = 0
        self.failures = 0
        self.last_outcome: PlanOutcome | None = None
        self._plan = plan
        self._offload = offload
        self._interval_s = interval_s
        self._retry_delays = retry_delays
        self._sink = sink
        self._publish = publish
        self._clock = clock
        self._start_delay_s = start_delay_s
        self._publish_concurrency = publish_concurrency
        self._ran = asyncio.Event()
        self._last_interval_s = DEFAULT_INTERVAL_S

    async def wait_for_run(self, after: int | None = None) -> PlanOutcome:
        """The latest outcome once more than ``after`` (default: the current count) runs ended."""
        target = self.runs if after is None else after
        while self.runs <= target or self.last_outcome is None:
            await self._ran.wait()
        return self.last_outcome

    async def run_forever(self) -> None:
        """The job's loop; only cancellation ends it."""
        loop = asyncio.get_running_loop()
        retries: Iterator[float] | None = None
        with structlog.contextvars.bound_contextvars(site_id=self.site_id):
            await asyncio.sleep(self._start_delay_s)
            self.queue.add(Pending(Trigger.INITIAL, ("start-up",)))
            batch = self.queue.take()  # the first run does not wait for triggers to settle
            due = loop.time()
            while True:
                if batch is None:
                    waited = await self.queue.wait(max(0.0, due - loop.time()))
                    batch = waited if waited is not None else Pending(Trigger.ROLLING)
                started = loop.time()
                try:
                    outcome = await self._plan(self.site_id, batch.trigger, self._offload)
                    if outcome.site_id != self.site_id:
                        raise JobError(f"outcome of site {outcome.site_id}", site_id=self.site_id)
                except Exception as exc:  # every failure is retried; none ends the job
                    retries = retries or self._retry_delays()
                    delay = next(retries)
                    self._failed(batch, exc, delay)
                    self.queue.add(batch)  # retried together with what arrives meanwhile
                    await asyncio.sleep(delay)
                else:
                    retries = None
                    await self._succeeded(batch, outcome, loop.time() - started)
                    due = started + self._next_interval()
                batch = None

    def _next_interval(self) -> float:
        """Seconds to the next rolling run; the last good value if the setting is broken."""
        try:
            interval = float(self._interval_s())
            if not interval > 0:
                raise ValueError(f"interval {interval} s is not > 0")
        except Exception as exc:  # a broken setting must not end the job
            log.warning("planning_interval_invalid", site_id=self.site_id, error=str(exc))
            return self._last_interval_s
        self._last_interval_s = interval
        return interval

    def _failed(self, batch: Pending, exc: Exception, delay: float) -> None:
        self.failures += 1
        record_failure(self._sink, self.site_id)
        log.error(
            "planning_run_failed",
            site_id=self.site_id,
            trigger=batch.trigger.value,
            error=str(exc) or type(exc).__name__,
            error_type=type(exc).__name__,
            failures=self.failures,
            retry_in_s=round(delay, 3),
            exc_info=None if isinstance(exc, JobError) else exc,
        )

    async def _succeeded(self, batch: Pending, outcome: PlanOutcome, duration_s: float) -> None:
        self.last_outcome = outcome
        published = failed = 0
        try:  # a fault in reporting must not turn a stored plan into a retried run
            record_success(self._sink, outcome, duration_s)
            if self._publish is not None and outcome.plan is not None:
                report = await publish_schedules(
                    outcome.plan,
                    self._publish,
                    sink=self._sink,
                    clock=self._clock,
                    run_id=outcome.schedule_run_id,
                    concurrency=self._publish_concurrency,
                )
                published, failed = len(report.published), len(report.failed)
        except Exception:
            log.exception("planning_report_failed", site_id=self.site_id)
        log.info(
            "planning_run_done",
            site_id=self.site_id,
            trigger=batch.trigger.value,
            triggers=batch.count,
            details=list(batch.details[-LOGGED_DETAILS:]),
            duration_s=round(duration_s, 3),
            schedules_published=published,
            schedules_failed=failed,
        )
        self.runs += 1
        ran, self._ran = self._ran, asyncio.Event()
        ran.set()
