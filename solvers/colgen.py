"""Exact LP solving by column generation, with HiGHS warm starts.

For a minimisation LP whose left-out columns may rest at 0 (``lower <= 0 <= upper``), solve
the model restricted to ``initial`` columns, price every other column with the row duals
(reduced cost ``c_j - a_j^T y``), add those that price below ``-tolerance`` to the same HiGHS
instance (the basis is kept, so the next solve starts warm), and repeat. When nothing prices
out the restricted optimum is optimal for the whole model: the result is the exact LP optimum,
reached by solving only the columns that matter. It pays off when most columns stay at 0 and
the caller can guess the useful ones (for instance from a heuristic plan). The seed should make
the restricted model feasible (slack columns do that); if it does not, every remaining column is
added at once, which is correct but no faster than solving the whole model.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from solvers.errors import SolverFailedError
from solvers.highs import HighsSolver, load_highspy
from solvers.model import LinearModel, Sense, Solution, SolveOptions, SolveStatus

IntArray = NDArray[np.int64]

NAME = "highs"


def _columns(model: LinearModel, cols: IntArray) -> tuple[Any, ...]:
    """The block of ``cols`` in HiGHS's addCols layout."""
    counts = np.diff(model.col_start)[cols]
    starts = np.zeros(cols.size, dtype=np.int32)
    np.cumsum(counts[:-1], out=starts[1:])
    entries = np.repeat(model.col_start[cols], counts) + (
        np.arange(int(counts.sum())) - np.repeat(starts, counts)
    )
    inf = 1e30
    return (
        cols.size,
        model.cost[cols],
        np.maximum(model.col_lower[cols], -inf),
        np.minimum(model.col_upper[cols], inf),
        int(counts.sum()),
        starts,
        model.row_index[entries],
        model.value[entries],
    )


def solve_by_column_generation(
    model: LinearModel,
    initial: NDArray[np.bool_],
    options: SolveOptions,
    *,
    tolerance: float = 1e-9,
    max_rounds: int = 100,
) -> Solution:
    """Solve ``model`` exactly, starting from the columns marked in ``initial``.

    The returned solution covers every column of ``model`` (0 for those never added); its
    message says how many rounds and columns it took.
    """
    if model.sense is not Sense.MINIMIZE or model.is_mip:
        raise ValueError("column generation here solves minimisation LPs only")
    if initial.shape != (model.num_cols,):
        raise ValueError("initial must mark each column of the model")
    left_out = ~initial.copy()
    if np.any(model.col_lower[left_out] > 0) or np.any(model.col_upper[left_out] < 0):
        raise ValueError("a left-out column cannot rest at 0")
    hs = load_highspy()
    started = time.perf_counter()
    h = hs.Highs()
    h.silent()
    h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
    h.setOptionValue("threads", int(options.threads))
    if not options.presolve:
        h.setOptionValue("presolve", "off")
    active = np.flatnonzero(initial)
    empty = LinearModel(
        model.sense,
        np.zeros(0),
        np.zeros(0),
        np.zeros(0),
        model.row_lower,
        model.row_upper,
        np.zeros(1, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
        offset=model.offset,
        name=model.name,
    )
    h.passModel(HighsSolver.to_highs_lp(hs, empty))
    h.addCols(*_columns(model, active))
    backend = HighsSolver()
    for rounds in range(1, max_rounds + 1):
        remaining = options.time_limit_s - (time.perf_counter() - started)
        if remaining <= 0:
            raise SolverFailedError(
                "time limit in column generation", solver="highs", status="time"
            )
        h.setOptionValue("time_limit", remaining)
        h.run()
        sub = backend.read_solution(hs, h, empty, time.perf_counter() - started)
        if sub.status is SolveStatus.INFEASIBLE and left_out.any():
            new = np.flatnonzero(left_out)  # the seed cannot even be feasible: take everything
        elif sub.status is not SolveStatus.OPTIMAL:
            return _expand(sub, model, active, rounds)
        else:
            new = np.flatnonzero(left_out & (sub.reduced_costs(model) < -tolerance))
        if new.size == 0:
            return _expand(sub, model, active, rounds)
        h.addCols(*_columns(model, new))
        left_out[new] = False
        active = np.concatenate([active, new])
    raise SolverFailedError(
        f"no convergence in {max_rounds} rounds", solver="highs", status="rounds"
    )


def _expand(sub: Solution, model: LinearModel, active: IntArray, rounds: int) -> Solution:
    """The restricted solution as a solution of the whole model."""
    message = f"column generation: {rounds} rounds, {active.size} of {model.num_cols} columns"
    if not sub.status.has_solution:
        return Solution(sub.status, sub.solver, runtime_s=sub.runtime_s, message=message)
    x = np.zeros(model.num_cols)
    x[active] = sub.x
    return Solution(
        sub.status,
        sub.solver,
        x,
        sub.objective,
        0.0,
        sub.runtime_s,
        message,
        sub.row_dual,
    )
