"""Fallbacks: greedy when the solver fails, Hexaly without a licence, greedy feasibility."""

from __future__ import annotations

from datetime import UTC, datetime

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from structlog.testing import capture_logs

from scheduling import (
    Method,
    NoPlanError,
    PlanStatus,
    ScheduleOptions,
    ScheduleProblem,
    check_plan,
    schedule,
)
from scheduling.synthetic import synthetic_problem
from solvers import (
    HexalySolver,
    HighsSolver,
    LinearModel,
    Solution,
    SolveOptions,
    SolverFailedError,
    SolveStatus,
)

T0 = datetime(2024, 12, 30, 12, tzinfo=UTC)


class _Broken:
    """A backend that always crashes."""

    name = "broken"

    def available(self) -> bool:
        return True

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        raise SolverFailedError("crashed", solver=self.name, status="error")


def _small(seed: int = 0) -> ScheduleProblem:
    return synthetic_problem(
        6, window_start=T0, prices_eur_per_kwh=np.linspace(0.3, 0.1, 16), window_h=8, seed=seed
    )


def test_solver_failure_falls_back_to_greedy_and_says_why() -> None:
    """When every backend fails, the greedy plan is returned with the failure as reason."""
    p = _small()
    with capture_logs() as logs:
        plan = schedule(p, ScheduleOptions(solvers=(_Broken(),)))
    assert plan.solver == "greedy"
    assert plan.fallback_reason is not None
    assert "crashed" in plan.fallback_reason
    assert any(e["event"] == "schedule_fallback" for e in logs)


class _TimesOut(_Broken):
    """A backend that reaches its time limit without a solution."""

    name = "slow"

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        return Solution(SolveStatus.NO_SOLUTION, self.name, message="Time limit reached")


def test_solver_timeout_falls_back_to_greedy() -> None:
    """A solve that stops at its time limit without a plan yields the feasible greedy plan."""
    p = _small(1)
    plan = schedule(p, ScheduleOptions(solvers=(_TimesOut(),)))
    assert plan.solver == "greedy"
    assert plan.fallback_reason is not None
    assert "slow" in plan.fallback_reason
    assert check_plan(p, plan) == []


def test_column_generation_out_of_time_falls_back_to_greedy() -> None:
    """Column generation that runs out of time also ends in the greedy plan, with the reason."""
    p = _small(2)
    plan = schedule(p, ScheduleOptions(column_generation=True, time_limit_s=1e-9))
    assert plan.solver == "greedy"
    assert "time limit" in (plan.fallback_reason or "")
    assert check_plan(p, plan) == []


def test_without_fallback_a_solver_failure_raises() -> None:
    """greedy_fallback=False turns a solver failure into NoPlanError."""
    with pytest.raises(NoPlanError):
        schedule(_small(), ScheduleOptions(solvers=(_Broken(),), greedy_fallback=False))


def test_hexaly_without_licence_falls_through_with_one_log_line() -> None:
    """An unlicensed Hexaly is unavailable; the chain logs it once and HiGHS solves."""
    hexaly = HexalySolver(license_content=None)
    assert not hexaly.available()
    with capture_logs() as logs:
        plan = schedule(_small(), ScheduleOptions(solvers=(hexaly, HighsSolver())))
    assert plan.solver == "highs"
    unavailable = [e for e in logs if e["event"] == "solver_unavailable"]
    assert len(unavailable) == 1
    assert unavailable[0]["solver"] == "hexaly"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 8),
    share=st.floats(0.05, 1.0),
    prices=st.lists(st.floats(-0.1, 0.5), min_size=12, max_size=12),
)
def test_greedy_is_feasible_and_never_beats_the_lp(
    seed: int, n: int, share: float, prices: list[float]
) -> None:
    """The greedy plan passes the checker; the LP's objective is never above the greedy's."""
    from scheduling import check_plan  # noqa: PLC0415

    p = synthetic_problem(
        n,
        window_start=T0,
        prices_eur_per_kwh=prices,
        window_h=6,
        seed=seed,
        capacity_share=share,
        triad_slots=(3,),
    )
    greedy = schedule(p, ScheduleOptions(method=Method.GREEDY))
    lp = schedule(p)
    assert check_plan(p, greedy) == []
    assert check_plan(p, lp) == []
    assert lp.costs.total_eur <= greedy.costs.total_eur + 1e-6 * max(
        1.0, abs(greedy.costs.total_eur)
    )
    if greedy.status is PlanStatus.FEASIBLE:
        assert not greedy.unmet
