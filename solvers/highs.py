"""The HiGHS backend (default), through highspy's array interface.

highspy is imported on first use: a process that must not load it (another library bundling
its own HiGHS) can still import this module.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from solvers.errors import SolverFailedError, SolverUnavailableError
from solvers.model import LinearModel, Sense, Solution, SolveOptions, SolveStatus, VarType

_FEASIBLE_POINT = 2  # HiGHS SolutionStatus kSolutionStatusFeasible


def load_highspy() -> Any:
    """The highspy module, or SolverUnavailableError."""
    try:
        import highspy  # noqa: PLC0415  (lazy on purpose, see module docstring)
    except ImportError as exc:  # pragma: no cover - highspy is a core dependency
        raise SolverUnavailableError("highspy is not installed", solver="highs") from exc
    return highspy


class HighsSolver:
    """Solves LPs and MIPs with HiGHS; one fresh ``Highs`` instance per solve."""

    name = "highs"

    def available(self) -> bool:
        """True when highspy imports."""
        try:
            load_highspy()
        except SolverUnavailableError:
            return False
        return True

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        """Solve ``model``; statuses map onto :class:`SolveStatus`."""
        hs = load_highspy()
        started = time.perf_counter()
        if model.num_cols == 0:
            return Solution(SolveStatus.OPTIMAL, self.name, np.zeros(0), model.offset)
        h = hs.Highs()
        h.silent()
        h.setOptionValue("time_limit", float(options.time_limit_s))
        h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
        h.setOptionValue("threads", int(options.threads))
        if not options.presolve:
            h.setOptionValue("presolve", "off")
        try:
            status = h.passModel(self.to_highs_lp(hs, model))
            if status == hs.HighsStatus.kError:
                raise SolverFailedError("model rejected", solver=self.name, status="load_error")
            h.run()
        except SolverFailedError:
            raise
        except Exception as exc:
            raise SolverFailedError(str(exc), solver=self.name, status="error") from exc
        runtime = time.perf_counter() - started
        return self.read_solution(hs, h, model, runtime)

    @staticmethod
    def to_highs_lp(hs: Any, model: LinearModel) -> Any:
        """``model`` as a ``highspy.HighsLp``."""
        lp = hs.HighsLp()
        lp.num_col_ = model.num_cols
        lp.num_row_ = model.num_rows
        inf = hs.kHighsInf
        lp.col_cost_ = model.cost
        lp.col_lower_ = np.where(np.isinf(model.col_lower), -inf, model.col_lower)
        lp.col_upper_ = np.where(np.isinf(model.col_upper), inf, model.col_upper)
        lp.row_lower_ = np.where(np.isinf(model.row_lower), -inf, model.row_lower)
        lp.row_upper_ = np.where(np.isinf(model.row_upper), inf, model.row_upper)
        lp.a_matrix_.format_ = hs.MatrixFormat.kColwise
        lp.a_matrix_.start_ = model.col_start
        lp.a_matrix_.index_ = model.row_index
        lp.a_matrix_.value_ = model.value
        lp.a_matrix_.num_col_ = model.num_cols
        lp.a_matrix_.num_row_ = model.num_rows
        lp.offset_ = model.offset
        lp.sense_ = (
            hs.ObjSense.kMaximize if model.sense is Sense.MAXIMIZE else hs.ObjSense.kMinimize
        )
        if model.var_type is not None:
            kinds = {
                VarType.CONTINUOUS: hs.HighsVarType.kContinuous,
                VarType.INTEGER: hs.HighsVarType.kInteger,
                VarType.SEMI_CONTINUOUS: hs.HighsVarType.kSemiContinuous,
            }
            lp.integrality_ = [kinds[VarType(int(t))] for t in model.var_type]
        return lp

    def read_solution(self, hs: Any, h: Any, model: LinearModel, runtime: float) -> Solution:
        """The :class:`Solution` of the last ``run`` of ``h``."""
        ms = h.getModelStatus()
        info = h.getInfo()
        text = h.modelStatusToString(ms)
        has_point = int(info.primal_solution_status) == _FEASIBLE_POINT
        if ms == hs.HighsModelStatus.kOptimal:
            status = SolveStatus.OPTIMAL
        elif ms == hs.HighsModelStatus.kInfeasible:
            status = SolveStatus.INFEASIBLE
        elif ms in (hs.HighsModelStatus.kUnbounded, hs.HighsModelStatus.kUnboundedOrInfeasible):
            status = SolveStatus.UNBOUNDED
        elif has_point:
            status = SolveStatus.FEASIBLE  # time, iteration or solution limit with an incumbent
        else:
            status = SolveStatus.NO_SOLUTION
        if not status.has_solution:
            return Solution(status, self.name, runtime_s=runtime, message=text)
        values = h.getSolution()
        x = np.asarray(values.col_value, dtype=np.float64)
        gap = float(info.mip_gap) if model.is_mip else 0.0
        duals = (
            np.asarray(values.row_dual, dtype=np.float64)
            if not model.is_mip and values.dual_valid
            else np.zeros(0)
        )
        return Solution(
            status,
            self.name,
            x,
            float(info.objective_function_value),
            gap if math.isfinite(gap) else math.inf,
            runtime,
            text,
            duals,
        )
