"""``plan_site``: a planning run of a seeded site, stored, on both databases."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from allocation import AllocationStatus, Trigger, check_allocation
from scheduling import Mode, check_plan
from tests.storage.small_site import NOW, SITE, seed_small_site
from tests.support import FixedClock
from v2g.planning import (
    MissingDataError,
    RouteSource,
    inline_offload,
    load_day,
    load_schedule_problem,
    plan_site,
    planner,
)
from v2g.site_params import Overrides
from v2g.storage import Database
from v2g.storage.plans import latest_allocation, latest_schedule
from v2g.storage.routes import cancel_route
from v2g.storage.sites import load_site_config
from v2g.storage.vehicles import list_vehicles, upsert_telemetry

T = TypeVar("T")


class PicklingOffload:
    """Sends every call through pickle, as a process pool would, and records what ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on unpickled copies of its arguments; return an unpickled result."""
        fn, args, kwargs = pickle.loads(pickle.dumps((fn, args, kwargs)))  # noqa: S301 (our own bytes)
        self.calls.append(fn.__name__)
        result: T = pickle.loads(pickle.dumps(fn(*args, **kwargs)))  # noqa: S301
        return result


async def test_plan_site_allocates_schedules_and_stores_both(db: Database) -> None:
    """An initial run stores an allocation and a post-allocation plan that covers its routes."""
    await seed_small_site(db)
    offload = PicklingOffload()
    outcome = await plan_site(db, SITE, Trigger.INITIAL, offload, now=NOW)
    assert offload.calls == ["solve_allocation", "solve_schedule"]
    result, plan = outcome.allocation, outcome.plan
    assert result is not None
    assert plan is not None
    assert (outcome.site_id, outcome.trigger) == (SITE, Trigger.INITIAL)
    assert result.status is AllocationStatus.OPTIMAL
    assert result.routes_covered == result.routes_in_window == 6
    stored = await latest_allocation(db, SITE)
    assert stored is not None
    assert (stored.run_id, stored.result) == (outcome.allocation_run_id, result)
    schedule = await latest_schedule(db, SITE)
    assert schedule is not None
    assert (schedule.run_id, schedule.plan) == (outcome.schedule_run_id, plan)
    assert (schedule.mode, schedule.allocation_run_id) == (Mode.POST_ALLOCATION, stored.run_id)
    config = await load_site_config(db, SITE)
    day = await load_day(db, SITE, config, now=NOW)
    assert check_allocation(day, result) == []
    problem = await load_schedule_problem(
        db, SITE, config, now=NOW, route_source=RouteSource.ALLOCATED
    )
    assert {(a.route_id, a.vehicle_id) for a in problem.allocations} == set(
        result.vehicle_of().items()
    )
    assert check_plan(problem, plan) == []
    assert plan.unmet == ()


async def test_a_cancellation_rerun_starts_from_the_stored_allocation(db: Database) -> None:
    """After a route is cancelled, the re-run drops only that route and keeps the rest."""
    await seed_small_site(db)
    first = await plan_site(db, SITE, Trigger.INITIAL, inline_offload, now=NOW)
    assert first.allocation is not None
    gone = "r5"
    vehicle = first.allocation.vehicle_of()[gone]
    later = NOW + timedelta(hours=1)
    assert await cancel_route(db, SITE, gone, now=later)
    again = await plan_site(db, SITE, Trigger.CANCELLATION, inline_offload, now=later)
    assert again.allocation is not None
    assert again.plan is not None
    assert again.allocation.cancelled_route_ids == (gone,)
    assert [(c.route_id, c.before, c.after) for c in again.allocation.changes] == [
        (gone, vehicle, None)
    ]
    assert again.allocation_run_id != first.allocation_run_id
    stored = await latest_allocation(db, SITE)
    assert stored is not None
    assert stored.run_id == again.allocation_run_id
    assert gone not in again.allocation.vehicle_of()
    assert again.plan.window_start == later


async def test_scheduling_alone_uses_the_planned_vehicles(db: Database) -> None:
    """Independent mode stores a plan without an allocation."""
    await seed_small_site(db)
    outcome = await plan_site(
        db,
        SITE,
        None,
        inline_offload,
        now=NOW,
        allocate_routes=False,
        route_source=RouteSource.PLANNED,
        config_overrides=[Overrides({"schedule_window_h": 6})],
    )
    assert (outcome.allocation, outcome.allocation_run_id, outcome.trigger) == (None, None, None)
    assert outcome.plan is not None
    assert outcome.plan.window.requested_h == 6
    stored = await latest_schedule(db, SITE)
    assert stored is not None
    assert (stored.mode, stored.allocation_run_id) == (Mode.INDEPENDENT, None)


async def test_missing_prices_fail_naming_the_span_and_store_nothing(db: Database) -> None:
    """A window past the last price is refused before any solve, naming site and span."""
    await seed_small_site(db)
    late = NOW + timedelta(hours=40)
    with pytest.raises(MissingDataError, match=r"site 10: no prices from 2025-01-02T00:00Z") as e:
        await plan_site(db, SITE, Trigger.INITIAL, inline_offload, now=late)
    assert (e.value.site_id, e.value.end) == (SITE, late + timedelta(hours=12))
    assert await latest_allocation(db, SITE) is None


async def test_the_service_planner_binds_database_and_clock(db: Database) -> None:
    """``planner(db, clock=...)`` is the job's plan function, planning at the clock's time."""
    await seed_small_site(db)
    plan = planner(db, clock=FixedClock(NOW))
    outcome = await plan(SITE, Trigger.ROLLING, inline_offload)
    assert outcome.trigger is Trigger.ROLLING
    assert outcome.allocation is not None
    assert outcome.allocation.window_start == NOW
    assert outcome.schedule_run_id is not None


async def test_vehicle_reported_offline_takes_no_new_routes(db: Database) -> None:
    """A van whose gateway said it is offline gets no route; one never heard of over MQTT does."""
    await seed_small_site(db)
    ev1 = (await list_vehicles(db, SITE))[0].to_fleet_vehicle()
    await upsert_telemetry(db, [ev1.model_copy(update={"online": False})], now=NOW)
    stored = {v.vehicle_id: v for v in await list_vehicles(db, SITE)}
    assert stored["ev1"].reported_offline
    assert not stored["ev2"].reported_offline  # seeded, presence never reported
    outcome = await plan_site(db, SITE, Trigger.VEHICLE_UNAVAILABLE, inline_offload, now=NOW)
    assert outcome.allocation is not None
    assert "ev1" not in {a.vehicle_id for a in outcome.allocation.assignments}
    assert outcome.allocation.routes_covered > 0
