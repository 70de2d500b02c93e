"""The planning jobs: when runs happen, that they never overlap, failures, retries, metrics."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime

import pytest
import structlog

from allocation import AllocateOptions, Trigger, allocate, synthetic_day
from allocation import Method as AllocationMethod
from metrics import RecordingSink
from metrics import catalog as m
from scheduling import Method as ScheduleMethod
from scheduling import ScheduleOptions, schedule
from tests.scheduling.builders import problem, route, vehicle
from v2g.jobs import InlineOffload, JobTimeoutError, Offload, PlanningJobs
from v2g.planning.outcome import PlanOutcome

T = Trigger
WAIT_S = 5.0


class FakePlanner:
    """Plays the planning run: records calls, can be slow, can fail a site's first calls."""

    def __init__(self, *, delay_s: float = 0.0, fail_first: dict[str, int] | None = None) -> None:
        self.delay_s = delay_s
        self.fail_first = dict(fail_first or {})
        self.calls: list[tuple[str, Trigger]] = []
        self.running: dict[str, int] = defaultdict(int)
        self.max_running: dict[str, int] = defaultdict(int)
        self.max_running_total = 0

    def triggers(self, site: str) -> list[Trigger]:
        """The triggers ``site`` was planned for, in order."""
        return [t for s, t in self.calls if s == site]

    async def __call__(self, site_id: str, trigger: Trigger, offload: Offload) -> PlanOutcome:
        self.calls.append((site_id, trigger))
        self.running[site_id] += 1
        self.max_running[site_id] = max(self.max_running[site_id], self.running[site_id])
        self.max_running_total = max(self.max_running_total, sum(self.running.values()))
        try:
            await asyncio.sleep(self.delay_s)
            assert await offload(sum, [1, 2]) == 3
            if self.fail_first.get(site_id, 0) > 0:
                self.fail_first[site_id] -= 1
                raise JobTimeoutError("solver too slow", timeout_s=1.0, site_id=site_id)
            return PlanOutcome(site_id, trigger, None, None, None, None)
        finally:
            self.running[site_id] -= 1


def jobs(
    planner: FakePlanner,
    sites: tuple[str, ...] = ("a", "b"),
    *,
    interval_s: float = 60.0,
    sink: RecordingSink | None = None,
    settle_s: float = 0.02,
    retry_initial_s: float = 0.01,
    retry_max_s: float = 0.04,
) -> PlanningJobs:
    """Jobs with tiny settle and retry times, a seeded rng and no publishing."""
    return PlanningJobs(
        planner,
        InlineOffload(),
        sites,
        interval_s=interval_s,
        sink=sink if sink is not None else RecordingSink(),
        publish_schedules=None,
        settle_s=settle_s,
        retry_initial_s=retry_initial_s,
        retry_max_s=retry_max_s,
        rng=random.Random(7),
    )


async def test_each_site_runs_initial_at_start() -> None:
    """Entering the jobs plans every site once with the initial trigger."""
    planner = FakePlanner()
    async with jobs(planner) as running:
        for site in ("a", "b"):
            outcome = await asyncio.wait_for(running.wait_for_run(site, after=0), WAIT_S)
            assert outcome.trigger is T.INITIAL
            assert running.last_outcome(site) is outcome
    assert planner.triggers("a")[0] is T.INITIAL


async def test_rolling_runs_follow_each_sites_own_interval() -> None:
    """Site a (every 30 ms) re-plans with rolling; site b (every hour) only ran initial."""
    planner = FakePlanner()
    interval = {"a": 0.03, "b": 3600.0}
    async with PlanningJobs(
        planner,
        InlineOffload(),
        ("a", "b"),
        interval_s=interval.__getitem__,
        sink=RecordingSink(),
        publish_schedules=None,
    ) as running:
        await asyncio.wait_for(running.wait_for_run("a", after=3), WAIT_S)
        assert running.runs("b") == 1
    assert planner.triggers("a")[:4] == [T.INITIAL, T.ROLLING, T.ROLLING, T.ROLLING]
    assert planner.triggers("b") == [T.INITIAL]


async def test_a_trigger_runs_now_instead_of_waiting_for_the_interval() -> None:
    """A cancellation re-plans the site at once although its rolling run is an hour away."""
    planner = FakePlanner()
    async with jobs(planner, interval_s=3600.0) as running:
        await asyncio.wait_for(running.wait_for_run("a", after=0), WAIT_S)
        running.trigger("a", T.CANCELLATION, detail="route r1")
        outcome = await asyncio.wait_for(running.wait_for_run("a", after=1), WAIT_S)
    assert outcome.trigger is T.CANCELLATION
    assert planner.triggers("b") == [T.INITIAL]


async def test_runs_of_a_site_never_overlap_and_bursts_collapse() -> None:
    """Slow runs and a burst of triggers: one run at a time per site, both sites in parallel."""
    planner = FakePlanner(delay_s=0.1)
    async with jobs(planner, interval_s=3600.0, settle_s=0.2) as running:
        await asyncio.sleep(0.03)  # both initial runs are under way
        for i in range(20):
            running.trigger("a", T.NEW_ROUTE, detail=f"r{i}")
            running.trigger("b", T.VEHICLE_UNAVAILABLE, detail=f"ev{i}")
            if i == 10:
                running.trigger("a", T.CANCELLATION, detail="r3")
            await asyncio.sleep(0.005)
        a = await asyncio.wait_for(running.wait_for_run("a", after=1), WAIT_S)
        b = await asyncio.wait_for(running.wait_for_run("b", after=1), WAIT_S)
        await asyncio.sleep(0.1)  # nothing is left to run
    assert planner.max_running == {"a": 1, "b": 1}
    assert planner.max_running_total == 2  # the two sites did run side by side
    assert (a.trigger, b.trigger) == (T.CANCELLATION, T.VEHICLE_UNAVAILABLE)
    assert planner.triggers("a") == [T.INITIAL, T.CANCELLATION]  # 21 triggers, one follow-up
    assert planner.triggers("b") == [T.INITIAL, T.VEHICLE_UNAVAILABLE]


async def test_a_failing_site_is_retried_with_backoff_and_the_other_keeps_going() -> None:
    """Site a fails twice: logged, counted, retried as initial; site b and later runs go on."""
    planner = FakePlanner(fail_first={"a": 2})
    sink = RecordingSink()
    with structlog.testing.capture_logs() as logs:
        async with jobs(planner, interval_s=0.05, sink=sink) as running:
            await asyncio.wait_for(running.wait_for_run("a", after=2), WAIT_S)
            await asyncio.wait_for(running.wait_for_run("b", after=2), WAIT_S)
            assert running.failures("a") == 2
            assert running.failures("b") == 0
    assert planner.triggers("a")[:4] == [T.INITIAL, T.INITIAL, T.INITIAL, T.ROLLING]
    failed = [e for e in logs if e["event"] == "planning_run_failed"]
    assert [(e["site_id"], e["trigger"], e["error_type"]) for e in failed] == [
        ("a", "initial", "JobTimeoutError")
    ] * 2
    assert "solver too slow" in failed[0]["error"]
    assert failed[0]["log_level"] == "error"
    assert 0 <= failed[0]["retry_in_s"] <= 0.01
    assert 0 <= failed[1]["retry_in_s"] <= 0.02  # the backoff doubles, with full jitter
    labels = {"site": "a", "job": "plan"}
    assert sink.total(m.JOB_RUNS, status="failed", **labels) == 2
    assert sink.total(m.JOB_RETRIES, **labels) == 2
    assert sink.total(m.JOB_RUNS, status="ok", **labels) >= 2
    assert sink.total(m.JOB_RUNS, status="failed", site="b") == 0


async def test_an_exception_of_any_kind_never_ends_the_job() -> None:
    """A plan raising a bare RuntimeError is retried like any failure; the job lives on."""

    async def broken_then_fine(site_id: str, trigger: Trigger, offload: Offload) -> PlanOutcome:
        calls.append(trigger)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return PlanOutcome(site_id, trigger, None, None, None, None)

    calls: list[Trigger] = []
    with structlog.testing.capture_logs() as logs:
        async with PlanningJobs(
            broken_then_fine,
            InlineOffload(),
            ["a"],
            interval_s=60.0,
            sink=RecordingSink(),
            publish_schedules=None,
            retry_initial_s=0.01,
            settle_s=0.0,
        ) as running:
            await asyncio.wait_for(running.wait_for_run("a", after=0), WAIT_S)
    assert calls == [T.INITIAL, T.INITIAL]
    failed = next(e for e in logs if e["event"] == "planning_run_failed")
    assert isinstance(failed["exc_info"], RuntimeError)  # unexpected errors keep their trace


async def test_a_broken_interval_setting_keeps_the_last_good_one() -> None:
    """An interval function that starts raising is logged; the job keeps its last interval."""
    asked: list[str] = []

    def interval(site: str) -> float:
        asked.append(site)
        if len(asked) > 2:  # fine when checked at construction and after the first run
            raise LookupError("site parameters unreadable")
        return 0.03

    planner = FakePlanner()
    with structlog.testing.capture_logs() as logs:
        async with PlanningJobs(
            planner,
            InlineOffload(),
            ["a"],
            interval_s=interval,
            sink=RecordingSink(),
            publish_schedules=None,
        ) as running:
            await asyncio.wait_for(running.wait_for_run("a", after=2), WAIT_S)
    assert planner.triggers("a")[:3] == [T.INITIAL, T.ROLLING, T.ROLLING]
    assert any(e["event"] == "planning_interval_invalid" for e in logs)


async def test_leaving_the_context_abandons_a_run_in_progress() -> None:
    """Stopping cancels a slow run at once instead of waiting for it."""
    planner = FakePlanner(delay_s=30.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with jobs(planner) as running:
        await asyncio.sleep(0.02)
        assert planner.running == {"a": 1, "b": 1}
    assert loop.time() - started < 1.0
    assert running.runs("a") == 0


async def test_unknown_sites_and_bad_settings_are_refused() -> None:
    """A trigger for a site not served raises KeyError; bad constructor values ValueError."""
    planner = FakePlanner()
    with pytest.raises(KeyError, match="zz"):
        jobs(planner).trigger("zz", T.CANCELLATION)
    with pytest.raises(ValueError, match="sites"):
        jobs(planner, sites=())
    with pytest.raises(ValueError, match="sites"):
        jobs(planner, sites=("a", "a"))
    with pytest.raises(ValueError, match="interval_s"):
        jobs(planner, interval_s=0.0)
    with pytest.raises(ValueError, match="retry"):
        jobs(planner, retry_initial_s=10.0, retry_max_s=1.0)


# --- what a successful run reports ----------------------------------------------------------


def _outcome(site: str, *, greedy: bool) -> PlanOutcome:
    """A real allocation of 10 synthetic routes and a real charge plan of two vans."""
    day = synthetic_day(10, start=datetime(2026, 11, 21, 4, 0, tzinfo=UTC), site_id=site)
    options = AllocateOptions(method=AllocationMethod.GREEDY if greedy else AllocationMethod.MIP)
    result = allocate(day, options=options)
    vans = [vehicle("ev1", soc_pct=0.0), vehicle("ev2", soc_pct=10.0)]
    routes = [route("r1", "ev1", 2, 3, energy_kwh=11.0), route("r2", "ev2", 3, 4, energy_kwh=80.0)]
    p = problem(vans, routes, prices=[0.3, 0.1, 0.2, 0.05] * 12).model_copy(
        update={"site_id": site}
    )
    method = ScheduleMethod.GREEDY if greedy else ScheduleMethod.LP
    plan = schedule(p, ScheduleOptions(method=method))
    return PlanOutcome(site, T.INITIAL, result, "alloc-1", plan, "sched-1")


@pytest.mark.parametrize(("greedy", "status"), [(False, "ok"), (True, "fallback")])
async def test_a_successful_run_sets_the_job_and_plan_metrics(greedy: bool, status: str) -> None:
    """Runs, solver and status per stage, durations, coverage, objective, cost, unmet energy."""
    made = _outcome("a", greedy=greedy)

    async def plan(site_id: str, trigger: Trigger, offload: Offload) -> PlanOutcome:
        return made

    sink = RecordingSink()
    async with PlanningJobs(
        plan, InlineOffload(), ["a"], interval_s=60.0, sink=sink, publish_schedules=None
    ) as running:
        await asyncio.wait_for(running.wait_for_run("a", after=0), WAIT_S)
    result, charge = made.allocation, made.plan
    assert result is not None
    assert charge is not None
    runs = sink.counters[m.JOB_RUNS]
    assert runs[(("job", "plan"), ("site", "a"), ("solver", "none"), ("status", "ok"))] == 1
    allocation_key = (("job", "allocation"), ("site", "a"), ("solver", result.solver))
    schedule_key = (("job", "schedule"), ("site", "a"), ("solver", charge.solver))
    assert runs[(*allocation_key, ("status", status))] == 1
    assert runs[(*schedule_key, ("status", status))] == 1
    assert set(sink.observations[m.JOB_DURATION]) == {
        (("job", job), ("site", "a")) for job in ("plan", "allocation", "schedule")
    }
    gauge = {name: values[(("site", "a"),)] for name, values in sink.gauges.items()}
    assert gauge[m.ALLOCATION_ROUTES_COVERED] == result.routes_covered
    assert gauge[m.ALLOCATION_ROUTES_IN_WINDOW] == result.routes_in_window == 10
    assert gauge[m.ALLOCATION_OBJECTIVE] == result.objective
    assert gauge[m.SCHEDULE_COST] == pytest.approx(charge.costs.energy_eur + charge.costs.triad_eur)
    assert gauge[m.SCHEDULE_UNMET] == pytest.approx(sum(u.missing_kwh for u in charge.unmet))
    assert gauge[m.SCHEDULE_UNMET] > 0  # ev2's 80 kWh route cannot be met from 10 %
