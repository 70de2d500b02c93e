"""The allocator: coverage first, then score; optimal over every sequence; the greedy fallback."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from structlog.testing import capture_logs

from allocation import (
    AllocateOptions,
    AllocationParameters,
    AllocationStatus,
    DepotDay,
    Method,
    NoAllocationError,
    check_allocation,
    synthetic_day,
)
from allocation import allocate as run_allocate
from allocation.result import AllocationResult
from solvers import LinearModel, PulpSolver, Solution, SolveOptions, SolverFailedError
from tests.allocation.brute import optimum
from tests.allocation.builders import T0, day, route, vehicle

GREEDY = AllocateOptions(method=Method.GREEDY)


def allocate(d: DepotDay, **kw: object) -> AllocationResult:
    """Allocate and insist the independent checker accepts the result."""
    result = run_allocate(d, **kw)  # type: ignore[arg-type]
    assert check_allocation(d, result, kw.get("previous")) == []  # type: ignore[arg-type]
    return result


class _Broken:
    """A backend that always crashes."""

    name = "broken"

    def available(self) -> bool:
        return True

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        raise SolverFailedError("crashed", solver=self.name, status="error")


def small_day(seed: int, n_routes: int = 10, n_vehicles: int = 4) -> DepotDay:
    """A synthetic 10-hour day small enough to list every sequence."""
    params = AllocationParameters(window_h=10.0, max_routes_per_sequence=3)
    return synthetic_day(
        n_routes, start=T0, n_vehicles=n_vehicles, window_h=10.0, seed=seed, parameters=params
    )


def test_two_vehicles_cover_four_routes_without_overlap() -> None:
    """Chains that fit in time go to one vehicle; overlapping routes need a second one."""
    d = day(
        [vehicle("a"), vehicle("b")],
        [route("r1", 1, 3), route("r2", 2, 4), route("r3", 3.5, 5), route("r4", 4.5, 6)],
    )
    result = allocate(d)
    assert result.status is AllocationStatus.OPTIMAL
    assert result.routes_covered == 4
    chains = {a.route_ids for a in result.assignments}
    assert chains == {("r1", "r3"), ("r2", "r4")}


def test_coverage_outweighs_keeping_the_planned_vehicle() -> None:
    """Three routes on two vehicles beat two routes each kept on its planned vehicle."""
    d = day(
        [vehicle("a"), vehicle("b")],
        [
            route("r1", 1, 3, planned_vehicle_id="a"),
            route("r2", 1, 3, planned_vehicle_id="a"),
            route("r3", 4, 6, planned_vehicle_id="a"),
        ],
        keep_planned_weight=50.0,
    )
    assert allocate(d).routes_covered == 3


def test_score_keeps_planned_vehicles_when_coverage_ties() -> None:
    """With coverage equal, each route goes to its planned vehicle."""
    d = day(
        [vehicle("a"), vehicle("b")],
        [route("r1", 1, 3, planned_vehicle_id="b"), route("r2", 1, 3, planned_vehicle_id="a")],
    )
    assert allocate(d).vehicle_of() == {"r1": "b", "r2": "a"}


def test_infeasible_routes_are_explained_by_the_constraints_that_rejected_them() -> None:
    """A route nobody can drive names, per constraint, the vehicles it rejected."""
    d = day(
        [vehicle("a", vehicle_type="van"), vehicle("b", vehicle_type="van", soc_pct=20)],
        [
            route("big", 1, 2, vehicle_type="large_van"),
            route("far", 1, 3, energy_kwh=58.0),
            route("late", 20, 21),
        ],
    )
    result = allocate(d)
    why = {u.route_id: u for u in result.unallocated}
    assert why["big"].reason == "no_feasible_vehicle"
    assert why["big"].rejected_by == {"vehicle_type": ("a", "b")}
    assert why["far"].rejected_by == {"energy": ("a", "b")}
    assert "late" in result.deferred_route_ids


def test_competition_is_explained_as_no_capacity() -> None:
    """A route every vehicle could drive alone but not next to its routes is no_capacity."""
    d = day([vehicle("a")], [route("r1", 1, 3), route("r2", 2, 4)])
    result = allocate(d)
    (u,) = result.unallocated
    assert u.reason == "no_capacity"
    assert u.rejected_by == {"no_overlap": ("a",)}


def test_recharging_between_routes_makes_a_chain_feasible() -> None:
    """Energy counts what the vehicle recharges at its rate between two routes."""
    routes = [route("r1", 0, 1, energy_kwh=30.0), route("r2", 4, 5, energy_kwh=30.0)]
    slow = day([vehicle("a", soc_pct=70, charge_rate_kw=0.0)], routes)
    fast = day([vehicle("a", soc_pct=70, charge_rate_kw=11.0)], routes)
    assert allocate(slow).routes_covered == 1
    assert allocate(fast).routes_covered == 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_routes=st.integers(4, 11), n_vehicles=st.integers(1, 4))
def test_mip_is_optimal_over_every_sequence_and_never_below_the_greedy(
    seed: int, n_routes: int, n_vehicles: int
) -> None:
    """The result matches brute force over all sequences and covers at least the greedy's."""
    d = small_day(seed, n_routes, n_vehicles)
    result = allocate(d)
    greedy = allocate(d, options=GREEDY)
    best, _ = optimum(d)
    assert result.status is AllocationStatus.OPTIMAL
    assert result.objective == pytest.approx(best, abs=1e-4)
    assert result.routes_covered >= greedy.routes_covered
    assert result.objective >= greedy.objective - 1e-6
    assert result.bound >= best - 1e-6


def test_mip_covers_more_than_the_greedy_where_it_can() -> None:
    """On a synthetic depot day the greedy leaves routes the model covers."""
    d = synthetic_day(40, start=T0, seed=3)
    result = allocate(d)
    greedy = allocate(d, options=GREEDY)
    assert result.routes_covered > greedy.routes_covered
    assert greedy.status is AllocationStatus.GREEDY


def test_solver_failure_falls_back_to_greedy_and_says_why() -> None:
    """When every backend fails, the greedy answers with the failure as its reason."""
    d = small_day(1)
    with capture_logs() as logs:
        result = allocate(d, options=AllocateOptions(solvers=(_Broken(),)))
    assert result.status is AllocationStatus.GREEDY
    assert result.solver == "greedy"
    assert result.fallback_reason is not None
    assert "crashed" in result.fallback_reason
    assert any(e["event"] == "allocation_fallback" for e in logs)


def test_solver_failure_without_fallback_raises() -> None:
    """With the fallback off, a failing chain is an error carrying the site."""
    with pytest.raises(NoAllocationError) as exc:
        run_allocate(
            small_day(1), options=AllocateOptions(solvers=(_Broken(),), greedy_fallback=False)
        )
    assert exc.value.site_id == "synthetic"


def test_pulp_and_highs_reach_the_same_optimum() -> None:
    """The model solved by PuLP/CBC has the objective HiGHS finds."""
    d = small_day(5)
    highs = allocate(d)
    cbc = allocate(d, options=AllocateOptions(solvers=(PulpSolver(),)))
    assert cbc.solver == "pulp"
    assert cbc.objective == pytest.approx(highs.objective, abs=1e-4)


def test_result_reports_gap_bound_and_runtime() -> None:
    """The result carries objective, bound, gap, runtime and the number of sequences."""
    result = allocate(small_day(7))
    assert result.bound >= result.objective
    assert 0 <= result.mip_gap <= 1e-5
    assert result.runtime_s > 0
    assert result.sequences_generated > 0
    assert result.score_scale > 0
