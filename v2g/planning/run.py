"""A planning run of one site against the database: allocate routes, then schedule charging.

:func:`plan_site` loads the site's validated parameters, builds the depot day, allocates
through ``offload`` (the service's process pool, or inline), stores the allocation, builds
the charge-scheduling problem in post-allocation mode, schedules through ``offload``, stores
the plan and returns the :class:`PlanOutcome`. Either stage may run alone (``v2g allocate``,
``v2g schedule``). :func:`planner` binds the database and the clock into the
:data:`~v2g.planning.ports.PlanFn` the service's planning jobs call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from allocation import AllocationResult, RouteStatus, Trigger
from dispatch.ports import Clock
from scheduling import ChargePlan
from v2g.planning.errors import iso
from v2g.planning.loader import RouteSource, check_prices, load_day, load_schedule_problem
from v2g.planning.outcome import PlanOutcome
from v2g.planning.ports import Offload, PlanFn, Progress, no_progress
from v2g.planning.solve import (
    allocation_options,
    schedule_options,
    solve_allocation,
    solve_schedule,
)
from v2g.site_params import Overrides, SiteConfig
from v2g.storage.database import Database
from v2g.storage.plans import latest_allocation, store_allocation, store_schedule
from v2g.storage.sites import load_site_config

log = structlog.get_logger(__name__)


async def _allocate(
    db: Database,
    site_id: str,
    trigger: Trigger,
    offload: Offload,
    config: SiteConfig,
    *,
    now: datetime,
    recorded_at: datetime,
    hexaly_licence: str | None,
    progress: Progress,
) -> tuple[AllocationResult, str]:
    day = await load_day(db, site_id, config, now=now)
    previous = None
    if trigger is not Trigger.INITIAL:
        stored = await latest_allocation(db, site_id)
        previous = None if stored is None else stored.result
    live = sum(1 for r in day.routes if r.status is not RouteStatus.CANCELLED)
    progress(
        f"allocating {live} routes to {len(day.vehicles)} vehicles "
        f"({trigger.value}, {config.solver.value}, window {iso(now)} + "
        f"{config.planning_window_h:g} h)"
    )
    options = allocation_options(config, hexaly_licence)
    result = await offload(solve_allocation, day, trigger, previous, options)
    run_id = await store_allocation(db, result, recorded_at=recorded_at)
    progress(
        f"allocated {result.routes_covered} of {result.routes_in_window} routes "
        f"({result.status.value} by {result.solver}); stored run {run_id}"
    )
    log.info(
        "allocation_stored",
        site_id=site_id,
        run_id=run_id,
        trigger=trigger.value,
        covered=result.routes_covered,
        routes=result.routes_in_window,
    )
    return result, run_id


async def _schedule(
    db: Database,
    site_id: str,
    offload: Offload,
    config: SiteConfig,
    *,
    now: datetime,
    recorded_at: datetime,
    route_source: RouteSource,
    allocation: AllocationResult | None,
    allocation_run_id: str | None,
    hexaly_licence: str | None,
    progress: Progress,
) -> tuple[ChargePlan, str, str | None]:
    if route_source is RouteSource.ALLOCATED and allocation is None:
        stored = await latest_allocation(db, site_id)
        if stored is not None:
            allocation, allocation_run_id = stored.result, stored.run_id
    problem = await load_schedule_problem(
        db, site_id, config, now=now, route_source=route_source, allocation=allocation
    )
    progress(
        f"scheduling {len(problem.vehicles)} vehicles, {len(problem.routes)} routes "
        f"({problem.mode.value}, window {iso(problem.window_start)} + "
        f"{problem.planning_window_h:g} h)"
    )
    plan = await offload(solve_schedule, problem, schedule_options(config, hexaly_licence))
    run_id = await store_schedule(
        db,
        plan,
        mode=problem.mode,
        recorded_at=recorded_at,
        allocation_run_id=allocation_run_id if route_source is RouteSource.ALLOCATED else None,
    )
    progress(f"scheduled: {plan.status.value} by {plan.solver}; stored run {run_id}")
    log.info("schedule_stored", site_id=site_id, run_id=run_id, status=plan.status.value)
    return plan, run_id, allocation_run_id


async def plan_site(
    db: Database,
    site_id: str,
    trigger: Trigger | None,
    offload: Offload,
    *,
    now: datetime,
    config_overrides: Sequence[Overrides] | None = None,
    allocate_routes: bool = True,
    schedule_charging: bool = True,
    route_source: RouteSource = RouteSource.ALLOCATED,
    recorded_at: datetime | None = None,
    hexaly_licence: str | None = None,
    progress: Progress = no_progress,
) -> PlanOutcome:
    """Plan ``site_id`` at ``now`` and store every result (see the module docstring).

    ``trigger`` is required when allocating (None: ``rolling``). Without allocation,
    ``route_source`` picks the schedule's mode: ``allocated`` uses the latest stored
    allocation, ``planned`` the route plan's vehicles. ``recorded_at`` stamps the stored
    runs (default ``now``). Raises :class:`~v2g.site_params.SiteParameterError`,
    :class:`~v2g.storage.sites.SiteNotFoundError`, :class:`~v2g.planning.MissingDataError`
    and the solvers' own errors; nothing is stored for a stage that failed.
    """
    if not (allocate_routes or schedule_charging):
        raise ValueError("plan_site needs allocate_routes or schedule_charging")
    recorded = recorded_at or now
    licence = hexaly_licence
    with structlog.contextvars.bound_contextvars(site_id=site_id):
        config = await load_site_config(db, site_id, overrides=config_overrides or ())
        if schedule_charging:
            await check_prices(db, site_id, config, now=now)
        result, allocation_run_id = None, None
        if allocate_routes:
            trigger = trigger or Trigger.ROLLING
            result, allocation_run_id = await _allocate(
                db, site_id, trigger, offload, config, now=now, recorded_at=recorded,
                hexaly_licence=licence, progress=progress,
            )  # fmt: skip
            route_source = RouteSource.ALLOCATED
        plan, schedule_run_id = None, None
        if schedule_charging:
            plan, schedule_run_id, allocation_run_id = await _schedule(
                db, site_id, offload, config, now=now, recorded_at=recorded,
                route_source=route_source, allocation=result, allocation_run_id=allocation_run_id,
                hexaly_licence=licence, progress=progress,
            )  # fmt: skip
    return PlanOutcome(
        site_id=site_id,
        trigger=trigger if allocate_routes else None,
        allocation=result,
        allocation_run_id=allocation_run_id if allocate_routes else None,
        plan=plan,
        schedule_run_id=schedule_run_id,
    )


def planner(db: Database, *, clock: Clock, hexaly_licence: str | None = None) -> PlanFn:
    """The service's plan function: :func:`plan_site` at the clock's time, every stage."""

    async def plan(site_id: str, trigger: Trigger, offload: Offload) -> PlanOutcome:
        return await plan_site(
            db, site_id, trigger, offload, now=clock.now(), hexaly_licence=hexaly_licence
        )

    return plan
