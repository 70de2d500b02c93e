"""Publishing a charge plan: one retained schedule message per vehicle.

:class:`SchedulePublish` is the port (``MqttPublisher.publish_schedule`` implements it).
:func:`publish_schedules` sends every vehicle's schedule with at most ``concurrency``
publications waiting at once; a vehicle whose publication fails is logged and counted
(``v2g_schedule_publish_failures_total``) and the others still go.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import structlog

from dispatch.ports import Clock
from metrics import MetricsSink
from metrics import catalog as m
from metrics.catalog import MetricKind, MetricSpec
from scheduling import ChargePlan
from v2g.mqtt.payloads import SchedulePayload

log = structlog.get_logger(__name__)

SCHEDULE_PUBLISH_FAILURES = "v2g_schedule_publish_failures_total"
m.register(
    MetricSpec(
        SCHEDULE_PUBLISH_FAILURES,
        MetricKind.COUNTER,
        "Vehicle schedules that could not be published",
        ("site",),
    )
)


class SchedulePublish(Protocol):
    """Hands one vehicle's schedule to its gateway (retained, so a reconnecting one gets it)."""

    async def __call__(self, site_id: str, vehicle_id: str, schedule: SchedulePayload, /) -> None:
        """Publish ``schedule`` for ``vehicle_id`` of ``site_id``; raise if it did not go."""
        ...


@dataclass(frozen=True)
class PublishReport:
    """Which vehicles got their schedule."""

    published: tuple[str, ...]
    failed: tuple[str, ...]


async def publish_schedules(
    plan: ChargePlan,
    publish: SchedulePublish,
    *,
    sink: MetricsSink,
    clock: Clock,
    run_id: str | None = None,
    concurrency: int = 32,
) -> PublishReport:
    """Publish the schedule of every vehicle of ``plan``; never raises for one vehicle."""
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    generated_at = clock.now()
    vehicles = iter(plan.vehicles)
    published: list[str] = []
    failed: list[str] = []

    async def worker() -> None:
        for vehicle in vehicles:  # the workers share one iterator: each vehicle goes once
            vid = vehicle.vehicle_id
            try:
                payload = SchedulePayload.from_vehicle_plan(
                    plan, vehicle, generated_at, run_id=run_id
                )
                await publish(plan.site_id, vid, payload)
            except Exception as exc:  # one vehicle must not stop the others
                failed.append(vid)
                sink.inc(SCHEDULE_PUBLISH_FAILURES, site=plan.site_id)
                log.warning(
                    "schedule_publish_failed",
                    site_id=plan.site_id,
                    vehicle_id=vid,
                    error=str(exc) or type(exc).__name__,
                )
            else:
                published.append(vid)
                sink.inc(m.SCHEDULES_PUBLISHED, site=plan.site_id)

    async with asyncio.TaskGroup() as group:
        for n in range(min(concurrency, len(plan.vehicles))):
            group.create_task(worker(), name=f"schedule-publish-{plan.site_id}-{n}")
    return PublishReport(tuple(published), tuple(failed))
