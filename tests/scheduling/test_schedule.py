"""The LP schedule: optimal on hand-checked cases, feasible, unmet routes reported."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from scheduling import (
    LpForm,
    Method,
    PlanStatus,
    ScheduleOptions,
    UnmetReason,
    build_instance,
    check_plan,
    schedule,
)
from scheduling.synthetic import synthetic_problem
from solvers import PulpSolver
from tests.scheduling.builders import problem, route, vehicle


def test_charges_in_the_cheapest_slots_before_departure() -> None:
    """11 kWh needed by hour 2 go into the two cheapest half-hours before it."""
    prices = [0.30, 0.10, 0.25, 0.05, 0.01, 0.01, 0.01, 0.01]
    p = problem([vehicle("a", soc_pct=0)], [route("r", "a", 2, 3, energy_kwh=11)], prices=prices)
    plan = schedule(p)
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.vehicles[0].power_kw[:4] == pytest.approx([0.0, 11.0, 0.0, 11.0])
    assert plan.costs.energy_eur == pytest.approx(5.5 * 0.10 + 5.5 * 0.05)
    assert check_plan(p, plan) == []


def test_site_capacity_is_shared_and_respected() -> None:
    """Two vans wanting the same cheap slot fill it to the site's headroom, no further."""
    prices = [0.01, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    vans = [vehicle("a", soc_pct=0), vehicle("b", soc_pct=0)]
    routes = [route("ra", "a", 2, 3, energy_kwh=5.5), route("rb", "b", 2, 3, energy_kwh=5.5)]
    p = problem(vans, routes, prices=prices, capacity_kw=11.0)
    plan = schedule(p)
    assert plan.site_power_kw[0] == pytest.approx(11.0)
    assert max(plan.site_power_kw) <= 11.0 + 1e-9
    assert plan.status is PlanStatus.OPTIMAL
    assert check_plan(p, plan) == []


def test_time_preference_makes_earlier_slots_cheaper() -> None:
    """At equal prices the synthetic time price moves charging to the earliest slot."""
    p = problem(
        [vehicle("a", soc_pct=0)],
        [route("r", "a", 3, 4, energy_kwh=5.5)],
        time_preference_eur_per_kwh=0.01,
    )
    assert schedule(p).vehicles[0].power_kw[:6] == pytest.approx([11, 0, 0, 0, 0, 0])


def test_triad_slots_are_avoided_and_priced() -> None:
    """A TRIAD-flagged slot costs its penalty on top of the price."""
    p = problem(
        [vehicle("a", soc_pct=0)],
        [route("r", "a", 1, 2, energy_kwh=5.5)],
        prices=[0.1, 0.2],
        triad_penalty_eur_per_kwh=1.0,
    )
    flagged = p.model_copy(
        update={"prices": (p.prices[0].model_copy(update={"triad": True}), *p.prices[1:])}
    )
    plan = schedule(flagged)
    assert plan.vehicles[0].power_kw[:2] == pytest.approx([0, 11])
    assert plan.costs.triad_eur == 0.0


def test_target_soc_shortfall_is_penalised_softly() -> None:
    """Energy toward the target is bought only where cheaper than the shortfall penalty."""
    p = problem(
        [vehicle("a", soc_pct=50)],
        prices=[0.1] * 2 + [0.9] * 46,
        target_soc_pct=80,
        shortfall_penalty_eur_per_kwh=0.5,
    )
    plan = schedule(p)
    assert plan.vehicles[0].energy_kwh == pytest.approx(11.0)  # two cheap half-hours at 11 kW
    assert plan.vehicles[0].target_shortfall_kwh == pytest.approx(18.0 - 11.0)
    assert plan.costs.shortfall_penalty_eur == pytest.approx(7.0 * 0.5)


def test_negative_prices_fill_the_battery_but_never_past_full() -> None:
    """Paid to charge, the LP fills the battery up to its capacity and no further."""
    p = problem([vehicle("a", soc_pct=90)], prices=[-0.1] * 48)
    plan = schedule(p)
    assert plan.vehicles[0].energy_kwh == pytest.approx(6.0)
    assert check_plan(p, plan) == []


def test_physically_impossible_route_is_reported_not_raised() -> None:
    """Too little time at the rate: everything else is scheduled, the missing kWh reported."""
    vans = [vehicle("a", soc_pct=0), vehicle("b", soc_pct=0)]
    routes = [route("ra", "a", 1, 2, energy_kwh=30), route("rb", "b", 3, 4, energy_kwh=5)]
    p = problem(vans, routes)
    plan = schedule(p)
    assert plan.status is PlanStatus.OPTIMAL_WITH_UNMET
    (u,) = plan.unmet
    assert (u.vehicle_id, u.route_id, u.reason) == ("a", "ra", UnmetReason.PHYSICAL)
    assert u.missing_kwh == pytest.approx(30 - 11)
    assert plan.vehicles[1].energy_kwh == pytest.approx(5)
    assert check_plan(p, plan) == []


def test_competition_for_site_capacity_is_reported_as_unmet() -> None:
    """Two vans each feasible alone but not together: the shortage is reported, not raised."""
    vans = [vehicle("a", soc_pct=0), vehicle("b", soc_pct=0)]
    routes = [route("ra", "a", 1, 2, energy_kwh=11), route("rb", "b", 1, 2, energy_kwh=11)]
    p = problem(vans, routes, capacity_kw=11.0)
    plan = schedule(p)
    assert sum(u.missing_kwh for u in plan.unmet) == pytest.approx(11.0)
    assert {u.reason for u in plan.unmet} == {UnmetReason.SITE_CAPACITY}
    assert check_plan(p, plan) == []


def test_spec_and_compact_forms_agree() -> None:
    """The seed's formulation as written and the compact one reach the same optimum."""
    p = synthetic_problem(
        25,
        window_start=datetime(2024, 12, 30, 12, tzinfo=UTC),
        prices_eur_per_kwh=np.linspace(0.3, 0.05, 48),
        seed=3,
        triad_slots=(30,),
    )
    inst = build_instance(p)
    from scheduling import schedule_instance  # noqa: PLC0415

    spec = schedule_instance(inst, ScheduleOptions(lp_form=LpForm.SPEC))
    compact = schedule_instance(inst, ScheduleOptions(lp_form=LpForm.COMPACT))
    assert spec.costs.total_eur == pytest.approx(compact.costs.total_eur, rel=1e-7)


@pytest.mark.parametrize("seed", [4, 5])
def test_column_generation_reaches_the_lp_optimum(seed: int) -> None:
    """Column generation from the greedy seed ends at the full LP's cost; the plan passes."""
    rng = np.random.default_rng(seed)
    p = synthetic_problem(
        120,
        window_start=datetime(2024, 12, 30, 12, tzinfo=UTC),
        prices_eur_per_kwh=rng.uniform(-0.02, 0.35, 48),
        seed=seed,
        triad_slots=(20, 21),
    )
    inst = build_instance(p)
    from scheduling import schedule_instance  # noqa: PLC0415

    full = schedule_instance(inst, ScheduleOptions(column_generation=False))
    colgen = schedule_instance(inst, ScheduleOptions(column_generation=True))
    assert colgen.status is full.status
    assert colgen.costs.total_eur == pytest.approx(full.costs.total_eur, rel=1e-7, abs=1e-7)
    assert check_plan(p, colgen) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_highs_and_pulp_cbc_agree_on_small_cases(seed: int) -> None:
    """HiGHS and PuLP/CBC find the same objective; both plans pass the checker."""
    rng = np.random.default_rng(seed)
    p = synthetic_problem(
        8,
        window_start=datetime(2024, 12, 30, 12, tzinfo=UTC),
        prices_eur_per_kwh=rng.uniform(-0.05, 0.4, 16),
        window_h=8,
        seed=seed,
        capacity_share=0.25,
    )
    highs = schedule(p)
    cbc = schedule(p, ScheduleOptions(solvers=(PulpSolver(),)))
    assert cbc.solver == "pulp"
    assert cbc.costs.total_eur == pytest.approx(highs.costs.total_eur, rel=1e-6, abs=1e-6)
    assert check_plan(p, highs) == []
    assert check_plan(p, cbc) == []


def test_greedy_method_returns_a_feasible_plan() -> None:
    """Asked for greedy, the scheduler answers with the greedy plan and says so."""
    p = synthetic_problem(
        20,
        window_start=datetime(2024, 12, 30, 12, tzinfo=UTC),
        prices_eur_per_kwh=np.linspace(0.3, 0.05, 48),
        seed=5,
    )
    plan = schedule(p, ScheduleOptions(method=Method.GREEDY))
    assert plan.solver == "greedy"
    assert plan.status in (PlanStatus.FEASIBLE, PlanStatus.FEASIBLE_WITH_UNMET)
    assert check_plan(p, plan) == []


def test_plan_reports_savings_against_uncontrolled_charging() -> None:
    """Uncontrolled charging (full rate from arrival, same energy) costs more here."""
    prices = [0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    p = problem([vehicle("a", soc_pct=0)], [route("r", "a", 4, 5, energy_kwh=11)], prices=prices)
    plan = schedule(p)
    assert plan.baseline.energy_eur == pytest.approx(11 * 0.5)
    assert plan.baseline.savings_eur == pytest.approx(11 * 0.4)
