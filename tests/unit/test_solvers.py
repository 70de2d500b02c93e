"""The solver API: model validation, builder, HiGHS backend statuses, the chain."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solvers import (
    HighsSolver,
    LinearModel,
    ModelBuilder,
    Sense,
    Solution,
    SolveOptions,
    SolverChain,
    SolverFailedError,
    SolverUnavailableError,
    SolveStatus,
    VarType,
)


def _knapsack() -> LinearModel:
    b = ModelBuilder(Sense.MAXIMIZE, "knapsack")
    cols = b.add_columns(3, cost=[3.0, 2.0, 1.0], upper=[2.0, 2.0, 2.0])
    b.add_rows(1, upper=3.0, rows=[0, 0, 0], cols=list(cols), values=[1.0, 1.0, 1.0])
    return b.build()


def test_highs_solves_lp_to_optimality() -> None:
    """A bounded knapsack LP fills the best columns first."""
    sol = HighsSolver().solve(_knapsack(), SolveOptions())
    assert sol.status is SolveStatus.OPTIMAL
    assert sol.x == pytest.approx([2.0, 1.0, 0.0])
    assert sol.objective == pytest.approx(8.0)


def test_semi_continuous_columns_are_zero_or_above_their_minimum() -> None:
    """A semi-continuous column takes 0 or a value in [lower, upper]."""
    b = ModelBuilder(Sense.MAXIMIZE)
    b.add_columns(
        2, cost=[2.0, 1.0], lower=[3.0, 0.0], upper=[5.0, 5.0], var_type=VarType.SEMI_CONTINUOUS
    )
    b.add_rows(1, upper=2.5, rows=[0, 0], cols=[0, 1], values=[1.0, 1.0])
    sol = HighsSolver().solve(b.build(), SolveOptions())
    assert sol.status is SolveStatus.OPTIMAL
    assert sol.x == pytest.approx([0.0, 2.5])


def test_infeasible_model_is_reported_not_raised() -> None:
    """An infeasible model returns the INFEASIBLE status and no point."""
    b = ModelBuilder(Sense.MINIMIZE)
    b.add_columns(1, upper=1.0)
    b.add_rows(1, lower=2.0, rows=[0], cols=[0], values=[1.0])
    sol = HighsSolver().solve(b.build(), SolveOptions())
    assert sol.status is SolveStatus.INFEASIBLE
    assert not sol.status.has_solution
    assert sol.x.size == 0


def test_builder_sums_duplicate_entries_and_computes_activity() -> None:
    """Entries given twice for one (row, col) are summed; row_activity is A @ x."""
    b = ModelBuilder(Sense.MINIMIZE)
    b.add_columns(2)
    b.add_rows(2, rows=[0, 0, 1, 0], cols=[0, 0, 1, 1], values=[1.0, 2.0, 4.0, 1.0])
    m = b.build()
    assert m.row_activity(np.array([1.0, 1.0])) == pytest.approx([4.0, 4.0])


def test_model_rejects_inconsistent_arrays() -> None:
    """Bounds that cross and non-finite costs are refused with a clear message."""
    b = ModelBuilder(Sense.MINIMIZE, "bad")
    b.add_columns(1, lower=2.0, upper=1.0)
    with pytest.raises(ValueError, match="lower bound exceeds"):
        b.build()
    b = ModelBuilder(Sense.MINIMIZE)
    with pytest.raises(ValueError, match="expected 2 values"):
        b.add_columns(2, cost=[1.0, 2.0, 3.0])
    b.add_columns(1, cost=math.nan)
    with pytest.raises(ValueError, match="finite"):
        b.build()


def test_builder_refuses_unknown_columns() -> None:
    """A row may only reference columns that exist."""
    b = ModelBuilder(Sense.MINIMIZE)
    b.add_columns(1)
    with pytest.raises(ValueError, match="not added yet"):
        b.add_rows(1, rows=[0], cols=[3], values=[1.0])


def test_solve_options_validate() -> None:
    """Every solve has a positive time limit."""
    with pytest.raises(ValueError, match="time_limit_s"):
        SolveOptions(time_limit_s=0)


class _Unavailable:
    name = "missing"

    def available(self) -> bool:
        return False

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        raise SolverUnavailableError("not here", solver=self.name)


class _Broken:
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def available(self) -> bool:
        return True

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        self.calls += 1
        raise SolverFailedError("crashed", solver=self.name, status="error")


def test_chain_falls_through_unavailable_and_failing_backends() -> None:
    """The chain skips an unavailable and a failing backend and returns HiGHS's answer."""
    broken = _Broken()
    sol = SolverChain([_Unavailable(), broken, HighsSolver()]).solve(_knapsack(), SolveOptions())
    assert broken.calls == 1
    assert sol.solver == "highs"
    assert sol.objective == pytest.approx(8.0)


def test_chain_raises_the_last_error_when_nothing_solves() -> None:
    """With no working backend the chain raises a SolverError naming the last one."""
    with pytest.raises(SolverFailedError, match="broken"):
        SolverChain([_Unavailable(), _Broken()]).solve(_knapsack(), SolveOptions())
