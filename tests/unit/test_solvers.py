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
from solvers.colgen import solve_by_column_generation


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


def _transport(n_src: int, n_dst: int, seed: int, *, slack: bool = True) -> LinearModel:
    """A random transportation LP: ship demand from capacitated sources at random costs;
    with ``slack``, unmet demand is allowed at a high price (the last ``n_dst`` columns)."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder(Sense.MINIMIZE, "transport")
    cols = b.add_columns(n_src * n_dst, cost=rng.uniform(1, 10, n_src * n_dst), upper=5.0)
    idx = np.arange(cols.start, cols.stop).reshape(n_src, n_dst)
    short = b.add_columns(n_dst, cost=1000.0, upper=np.inf if slack else 0.0)
    b.add_rows(
        n_src,
        upper=rng.uniform(5, 15, n_src),
        rows=np.repeat(np.arange(n_src), n_dst),
        cols=idx.ravel(),
        values=np.ones(n_src * n_dst),
    )
    b.add_rows(
        n_dst,
        lower=rng.uniform(1, 4, n_dst),
        rows=np.concatenate([np.tile(np.arange(n_dst), n_src), np.arange(n_dst)]),
        cols=np.concatenate([idx.ravel(), np.arange(short.start, short.stop)]),
        values=np.ones(n_src * n_dst + n_dst),
    )
    return b.build()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_column_generation_reaches_the_full_lp_optimum(seed: int) -> None:
    """Starting from a few columns, column generation ends at the full model's optimum."""
    model = _transport(12, 30, seed)
    full = HighsSolver().solve(model, SolveOptions())
    initial = np.zeros(model.num_cols, dtype=bool)
    initial[:: model.num_cols // 20] = True
    initial[-30:] = True  # the slacks: the restricted model is feasible from the start
    sol = solve_by_column_generation(model, initial, SolveOptions())
    assert sol.status is SolveStatus.OPTIMAL
    assert sol.objective == pytest.approx(full.objective, rel=1e-9)
    assert sol.x.shape == (model.num_cols,)
    assert model.objective(sol.x) == pytest.approx(full.objective, rel=1e-9)
    activity = model.row_activity(sol.x)
    assert np.all(activity <= model.row_upper + 1e-7)
    assert np.all(activity >= model.row_lower - 1e-7)
    assert "rounds" in sol.message
    assert np.all(full.reduced_costs(model)[full.x > 1e-9] == pytest.approx(0.0, abs=1e-7))


def test_column_generation_from_an_infeasible_seed_takes_every_column() -> None:
    """A seed that cannot meet the demand makes it add every column, and it still solves."""
    model = _transport(6, 10, 3, slack=False)
    full = HighsSolver().solve(model, SolveOptions())
    initial = np.zeros(model.num_cols, dtype=bool)
    initial[0] = True
    sol = solve_by_column_generation(model, initial, SolveOptions())
    assert sol.objective == pytest.approx(full.objective, rel=1e-9)
    assert f"{model.num_cols} of {model.num_cols} columns" in sol.message


def test_column_generation_refuses_what_it_cannot_solve_exactly() -> None:
    """Maximisation, MIPs and left-out columns that cannot be 0 are refused."""
    model = _transport(3, 4, 0)
    with pytest.raises(ValueError, match="mark each column"):
        solve_by_column_generation(model, np.ones(3, dtype=bool), SolveOptions())
    b = ModelBuilder(Sense.MINIMIZE)
    b.add_columns(2, lower=[1.0, 0.0], upper=2.0)
    b.add_rows(1, lower=1.0, rows=[0, 0], cols=[0, 1], values=[1.0, 1.0])
    with pytest.raises(ValueError, match="rest at 0"):
        solve_by_column_generation(b.build(), np.array([False, True]), SolveOptions())
    with pytest.raises(ValueError, match="minimisation LPs"):
        solve_by_column_generation(_knapsack(), np.ones(3, dtype=bool), SolveOptions())
