"""The PuLP backend: CBC (bundled in PuLP's wheel) through PuLP's modelling layer.

Install with the ``pulp`` extra. pulp is imported on first use; without it the backend reports
itself unavailable. Semi-continuous columns are not supported (the solve fails cleanly).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np

from solvers.errors import SolverFailedError, SolverUnavailableError
from solvers.model import LinearModel, Sense, Solution, SolveOptions, SolveStatus, VarType


def _load() -> Any:
    try:
        import pulp  # noqa: PLC0415  (optional dependency, imported on use)
    except ImportError as exc:
        raise SolverUnavailableError("pulp is not installed (extra 'pulp')", solver="pulp") from exc
    return pulp


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else float(value)


class PulpSolver:
    """Builds the model with PuLP and solves it with CBC."""

    name = "pulp"

    def available(self) -> bool:
        """True when pulp imports."""
        try:
            _load()
        except SolverUnavailableError:
            return False
        return True

    def build(self, model: LinearModel) -> tuple[Any, list[Any]]:
        """The PuLP problem of ``model`` and its variables, in column order."""
        pulp = _load()
        sense = pulp.LpMaximize if model.sense is Sense.MAXIMIZE else pulp.LpMinimize
        prob = pulp.LpProblem(model.name.replace("-", "_") or "model", sense)
        kinds = model.var_type if model.var_type is not None else np.zeros(model.num_cols)
        if np.any(kinds == VarType.SEMI_CONTINUOUS):
            raise SolverFailedError(
                "semi-continuous columns", solver=self.name, status="unsupported"
            )
        new_var = getattr(prob, "add_variable", None) or pulp.LpVariable  # PuLP 4 / older
        xs = [
            new_var(
                f"x{j}",
                lowBound=_bound(model.col_lower[j]),
                upBound=_bound(model.col_upper[j]),
                cat=pulp.LpInteger if kinds[j] == VarType.INTEGER else pulp.LpContinuous,
            )
            for j in range(model.num_cols)
        ]
        prob += (
            pulp.LpAffineExpression(
                [(xs[j], float(c)) for j, c in enumerate(model.cost) if c != 0.0]
            )
            + model.offset
        )
        counts = np.diff(model.col_start)
        cols = np.repeat(np.arange(model.num_cols), counts)
        order = np.argsort(model.row_index, kind="stable")
        row_start = np.searchsorted(model.row_index[order], np.arange(model.num_rows + 1))
        for i in range(model.num_rows):
            sel = order[row_start[i] : row_start[i + 1]]
            expr = pulp.LpAffineExpression([(xs[cols[k]], float(model.value[k])) for k in sel])
            lo, up = model.row_lower[i], model.row_upper[i]
            if lo == up:
                prob += expr == float(lo), f"r{i}"
                continue
            if not math.isinf(lo):
                prob += expr >= float(lo), f"r{i}_lo"
            if not math.isinf(up):
                prob += expr <= float(up), f"r{i}_up"
        return prob, xs

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        """Solve ``model`` with CBC under the time limit."""
        pulp = _load()
        started = time.perf_counter()
        prob, xs = self.build(model)
        try:
            with warnings.catch_warnings():  # PuLP 3.x announces the bundled CBC's retirement
                warnings.simplefilter("ignore", DeprecationWarning)
                cmd = pulp.PULP_CBC_CMD(
                    msg=False,
                    timeLimit=float(options.time_limit_s),
                    gapRel=float(options.mip_rel_gap),
                    threads=int(options.threads),
                )
                prob.solve(cmd)
        except pulp.PulpError as exc:
            raise SolverFailedError(str(exc), solver=self.name, status="error") from exc
        runtime = time.perf_counter() - started
        status = self._status(prob)
        if not status.has_solution:
            return Solution(
                status, self.name, runtime_s=runtime, message=pulp.LpStatus[prob.status]
            )
        x = np.array([v.varValue or 0.0 for v in xs], dtype=np.float64)
        return Solution(status, self.name, x, model.objective(x), 0.0, runtime, "")

    @staticmethod
    def _status(prob: Any) -> SolveStatus:
        sol = int(getattr(prob, "sol_status", prob.status))
        if prob.status == 1 and sol == 1:
            return SolveStatus.OPTIMAL
        if sol == 2:
            return SolveStatus.FEASIBLE
        if prob.status == -1:
            return SolveStatus.INFEASIBLE
        if prob.status == -2:
            return SolveStatus.UNBOUNDED
        return SolveStatus.NO_SOLUTION
