"""The battery cap is cumulative and route-aware: vehicles recharge between their routes.

The seed's EQ-04 caps the energy charged over the whole window at the headroom now; the
scheduler caps the battery's content at every slot boundary instead (headroom plus the energy
of the routes that left), so a vehicle may charge more than one battery over several routes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from scheduling import (
    ChargePlan,
    LpForm,
    Method,
    PlanStatus,
    ScheduleOptions,
    ScheduleProblem,
    UnmetReason,
    build_instance,
    build_lp,
    check_plan,
    schedule,
    schedule_instance,
)
from scheduling.feasibility import binding_caps, reachable_kwh
from scheduling.scheduler import solve_lp
from scheduling.synthetic import synthetic_problem
from solvers import HighsSolver, ModelBuilder, Sense, SolveOptions
from tests.scheduling.builders import problem, route, vehicle

# cheap before the first departure, so the optimum fills the battery there (the cap binds)
PRICES = [0.05] * 4 + [0.3] * 44

OPTIONS = {
    "lp compact": ScheduleOptions(),
    "lp spec": ScheduleOptions(lp_form=LpForm.SPEC),
    "column generation": ScheduleOptions(column_generation=True),
    "greedy": ScheduleOptions(method=Method.GREEDY),
}


def _two_routes() -> ScheduleProblem:
    """A 60 kWh van at 50 %, 22 kW: 50 kWh out at 2 h (back 3 h), 50 kWh more at 8 h.

    100 kWh of driving is more than the battery, and more than the 30 kWh headroom plus the
    30 kWh on board; each route fits, and 5 h between them recharge what the second needs.
    """
    van = vehicle("a", battery_kwh=60.0, soc_pct=50.0, ac_charge_rate_kw=22.0)
    routes = [route("r1", "a", 2, 3, energy_kwh=50), route("r2", "a", 8, 9, energy_kwh=50)]
    return problem([van], routes, prices=PRICES, window_h=10)


def _assert_soc_within_battery(p: ScheduleProblem, plan: ChargePlan) -> None:
    for veh, vp in zip(p.vehicles, plan.vehicles, strict=True):
        soc = np.array(vp.soc_kwh)
        assert soc.shape == (plan.n_slots + 1,)
        assert soc[0] == pytest.approx(veh.soc_kwh)
        assert soc.max() <= veh.battery_kwh + 1e-6
        assert soc.min() >= -1e-6


@pytest.mark.parametrize("how", OPTIONS)
def test_a_van_recharges_between_two_routes_worth_more_than_its_battery(how: str) -> None:
    """Both routes are met, by every method; the plan passes and SoC stays in [0, battery].

    Under the seed's literal EQ-04 (charged over the window <= 30 kWh headroom) the second
    route was reported unmet (physical, 40 kWh missing).
    """
    p = _two_routes()
    plan = schedule(p, OPTIONS[how])
    assert plan.unmet == ()
    assert plan.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE)
    assert check_plan(p, plan) == []
    _assert_soc_within_battery(p, plan)
    van = plan.vehicles[0]
    assert van.energy_kwh == pytest.approx(70.0)  # more than the 30 kWh headroom
    # full (60 kWh) when leaving on r1: 30 kWh in the cheap slots, no more
    assert van.soc_kwh[4] == pytest.approx(60.0)
    assert sum(van.power_kw[:4]) * 0.5 == pytest.approx(30.0)
    # the 50 kWh r2 needs on board when it leaves at 8 h (slot 16)
    assert van.soc_kwh[16] == pytest.approx(50.0)
    assert van.soc_kwh[-1] == pytest.approx(0.0)


def test_lp_forms_and_greedy_agree_on_the_two_routes() -> None:
    """Both LP forms reach the same optimum; column generation too; greedy is no cheaper."""
    p = _two_routes()
    costs = {how: schedule(p, o).costs.total_eur for how, o in OPTIONS.items()}
    assert costs["lp spec"] == pytest.approx(costs["lp compact"], rel=1e-9)
    assert costs["column generation"] == pytest.approx(costs["lp compact"], rel=1e-9)
    assert costs["greedy"] >= costs["lp compact"] - 1e-9
    # 30 kWh at 0.05 before r1, 40 kWh at 0.3 between the routes
    assert costs["lp compact"] == pytest.approx(30 * 0.05 + 40 * 0.3, rel=1e-9)


def test_checker_flags_a_battery_overflowing_before_the_second_departure() -> None:
    """Charging more before r1 than the battery holds is a soc_cap violation, although the
    total over the window stays below what the two routes consume."""
    p = _two_routes()
    plan = schedule(p)
    vehicles = list(plan.vehicles)
    power = list(vehicles[0].power_kw)
    power[0:4] = [22.0] * 4  # 44 kWh before r1: 74 kWh in a 60 kWh battery
    vehicles[0] = vehicles[0].model_copy(update={"power_kw": tuple(power)})
    broken = plan.model_copy(update={"vehicles": tuple(vehicles)})
    kinds = [v.constraint for v in check_plan(p, broken)]
    assert "soc_cap" in kinds
    assert set(kinds) == {"soc_cap"}


def test_route_larger_than_the_battery_is_physical_by_the_battery_alone() -> None:
    """A 70 kWh route on a 60 kWh battery misses 10 kWh (physical), whatever the time."""
    p = problem([vehicle("a", soc_pct=0)], [route("r", "a", 9, 10, energy_kwh=70)], window_h=10)
    inst = build_instance(p)
    assert reachable_kwh(inst).tolist() == pytest.approx([60.0])
    for options in (ScheduleOptions(), ScheduleOptions(method=Method.GREEDY)):
        plan = schedule(p, options)
        (u,) = plan.unmet
        assert (u.route_id, u.reason) == ("r", UnmetReason.PHYSICAL)
        assert u.missing_kwh == pytest.approx(10.0)
        assert check_plan(p, plan) == []


def test_second_route_without_time_to_recharge_is_physical() -> None:
    """Back at 3 h and out again at 3.5 h: one slot (11 kWh) is all r2 can get after r1."""
    van = vehicle("a", battery_kwh=60.0, soc_pct=50.0, ac_charge_rate_kw=22.0)
    routes = [route("r1", "a", 2, 3, energy_kwh=50), route("r2", "a", 3.5, 5, energy_kwh=50)]
    p = problem([van], routes, window_h=6)
    inst = build_instance(p)
    # r2: at most 30 kWh before r1 (the battery is full then), plus one 11 kWh slot
    assert reachable_kwh(inst).tolist() == pytest.approx([30.0, 41.0])
    for options in (ScheduleOptions(), ScheduleOptions(method=Method.GREEDY)):
        plan = schedule(p, options)
        (u,) = plan.unmet
        assert (u.route_id, u.reason) == ("r2", UnmetReason.PHYSICAL)
        assert u.missing_kwh == pytest.approx(70.0 - 41.0)
        assert check_plan(p, plan) == []


def test_competition_between_multi_route_vans_is_site_capacity_not_physical() -> None:
    """Two vans each able to recharge between routes alone, not both at 22 kW of capacity."""
    vans = [vehicle(v, battery_kwh=60.0, soc_pct=50.0, ac_charge_rate_kw=22.0) for v in ("a", "b")]
    routes = [
        route(f"{v}{i}", v, dep, dep + 1, energy_kwh=50)
        for v in ("a", "b")
        for i, dep in ((1, 2), (2, 5))
    ]
    p = problem(vans, routes, window_h=6, capacity_kw=22.0)
    plan = schedule(p)
    assert plan.unmet
    assert {u.reason for u in plan.unmet} == {UnmetReason.SITE_CAPACITY}
    assert check_plan(p, plan) == []
    _assert_soc_within_battery_where_met(p, plan)


def _max_before_departure(p: ScheduleProblem, c: int) -> float:
    """Brute force by LP, from the raw problem: the most energy the (only) vehicle can have
    charged before its route ``c`` leaves, alone, with the battery never past full."""
    inst = build_instance(p)
    veh = p.vehicles[0]
    n, h = inst.n_slots, inst.slot_h
    per_slot = np.where(inst.available[0], np.minimum(veh.ac_charge_rate_kw, inst.capacity_kw), 0)
    b = ModelBuilder(Sense.MINIMIZE, "reach")
    k = int(inst.cp_slot[c])
    cost = np.where(np.arange(n) < k, -h, 0.0)
    cols = b.add_columns(n, cost=cost, upper=per_slot)
    ours = sorted((r for r in p.routes if r.departure >= p.window_start), key=lambda r: r.departure)
    for t in range(1, n + 1):
        end = p.window_start + t * timedelta(minutes=30)
        driven = sum(r.energy_kwh or 0.0 for r in ours if r.departure < end)
        room = veh.battery_kwh - veh.soc_kwh + driven
        b.add_rows(
            1,
            upper=room,
            rows=np.zeros(t, dtype=np.int64),
            cols=np.arange(cols.start, cols.start + t),
            values=np.full(t, h),
        )
    sol = HighsSolver().solve(b.build(), SolveOptions(time_limit_s=10))
    return -float(sol.objective)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    soc=st.floats(0, 100),
    rate=st.sampled_from([3.7, 11.0, 22.0]),
    legs=st.lists(
        st.tuples(st.integers(1, 6), st.integers(0, 4), st.floats(1, 70)), min_size=1, max_size=4
    ),
    prices=st.lists(st.floats(-0.1, 0.5), min_size=20, max_size=20),
)
def test_multi_route_van_alone_lp_greedy_and_brute_force_agree(
    soc: float, rate: float, legs: list[tuple[int, int, float]], prices: list[float]
) -> None:
    """One van, several routes: the reach per departure is the brute-force maximum; LP and
    greedy meet the same routes and report the same ones unmet, all physical; both plans pass
    the checker and keep the SoC within the battery (and above 0 where all is met)."""
    van = vehicle("a", battery_kwh=60.0, soc_pct=soc, ac_charge_rate_kw=rate)
    routes, t = [], 0.0
    for i, (gap, length, kwh) in enumerate(legs):
        dep = t + gap / 2
        routes.append(route(f"r{i}", "a", dep, dep + length / 2, energy_kwh=kwh))
        t = dep + length / 2
    p = problem([van], routes, prices=prices, window_h=10)
    inst = build_instance(p)
    reach = reachable_kwh(inst)
    for c in range(inst.cp_vehicle.size):
        assert reach[c] == pytest.approx(_max_before_departure(p, c), abs=1e-6)
    lp = schedule(p)
    greedy = schedule(p, ScheduleOptions(method=Method.GREEDY))
    for plan in (lp, greedy):
        assert check_plan(p, plan) == []
        assert all(u.reason is UnmetReason.PHYSICAL for u in plan.unmet)
        soc_kwh = np.array(plan.vehicles[0].soc_kwh)
        assert soc_kwh.max() <= van.battery_kwh + 1e-6
        if not plan.unmet:
            assert soc_kwh.min() >= -1e-6
    assert {u.route_id: u.missing_kwh for u in lp.unmet} == pytest.approx(
        {u.route_id: u.missing_kwh for u in greedy.unmet}, abs=1e-6
    )
    # HiGHS's optimality tolerance (1e-7 on reduced costs) may leave ~1e-6 EUR on the table
    assert lp.costs.total_eur <= greedy.costs.total_eur + 1e-5 * max(1, abs(greedy.costs.total_eur))


@pytest.mark.parametrize("seed", [11, 12])
def test_column_generation_equals_the_full_lp_with_binding_caps(seed: int) -> None:
    """Where caps bind (cheap slots before the departures), column generation and the full LP
    reach the same objective within 1e-9, and the SPEC form agrees."""
    rng = np.random.default_rng(seed)
    prices = np.concatenate([rng.uniform(-0.05, 0.0, 16), rng.uniform(0.1, 0.4, 32)])
    p = synthetic_problem(
        150,
        window_start=datetime(2024, 12, 30, 12, tzinfo=UTC),
        prices_eur_per_kwh=prices,
        seed=seed,
    )
    inst = build_instance(p)
    binds, end_binds = binding_caps(inst)
    assert binds.any()
    assert end_binds.any()
    options = ScheduleOptions(time_limit_s=60)
    _, full = solve_lp(inst, ScheduleOptions(time_limit_s=60, column_generation=False))
    _, colgen = solve_lp(inst, ScheduleOptions(time_limit_s=60, column_generation=True))
    assert "column generation" in colgen.message
    assert colgen.objective == pytest.approx(full.objective, rel=1e-9)
    spec = HighsSolver().solve(build_lp(inst, LpForm.SPEC).model, SolveOptions(time_limit_s=60))
    assert spec.objective == pytest.approx(full.objective, rel=1e-7)
    plan = schedule_instance(inst, options)
    assert check_plan(p, plan) == []
    _assert_soc_within_battery_where_met(p, plan)
    # caps bind: some vehicles leave full on a route that is not their last one
    soc = np.array([v.soc_kwh for v in plan.vehicles])
    battery = np.array([v.battery_kwh for v in p.vehicles])[inst.cp_vehicle]
    not_last = np.append(inst.cp_vehicle[1:] == inst.cp_vehicle[:-1], False)
    leaves_full = np.abs(soc[inst.cp_vehicle, inst.cp_slot] - battery) < 1e-6
    assert (leaves_full & not_last).any()
    # some vehicle charges more over the window than its headroom now: it recharged
    assert any(v.energy_kwh > inst.headroom_kwh[i] + 1e-6 for i, v in enumerate(plan.vehicles))


def _assert_soc_within_battery_where_met(p: ScheduleProblem, plan: ChargePlan) -> None:
    short = {u.vehicle_id for u in plan.unmet}
    for veh, vp in zip(p.vehicles, plan.vehicles, strict=True):
        soc = np.array(vp.soc_kwh)
        assert soc.max() <= veh.battery_kwh + 1e-6
        if veh.vehicle_id not in short:
            assert soc.min() >= -1e-6
