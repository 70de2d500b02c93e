"""The Hexaly backend (optional, licensed).

Install with the ``hexaly`` extra. The licence is passed in by the caller (the CLI reads
``HX_LICENSE_CONTENT`` or a licence file); this module reads no environment. Without the
library or without a licence the backend reports itself unavailable, and a
:class:`~solvers.chain.SolverChain` falls through to the next backend with one log line.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from solvers.errors import SolverFailedError, SolverUnavailableError
from solvers.model import LinearModel, Sense, Solution, SolveOptions, SolveStatus, VarType

_BIG = 1e30  # Hexaly decisions need finite bounds


def _load() -> Any:
    try:
        import hexaly.optimizer as hx  # noqa: PLC0415  (optional dependency, imported on use)
    except ImportError as exc:
        raise SolverUnavailableError(
            "hexaly is not installed (extra 'hexaly')", solver="hexaly"
        ) from exc
    return hx


class HexalySolver:
    """Solves LPs and MIPs with Hexaly Optimizer, given a licence's content."""

    name = "hexaly"

    def __init__(self, license_content: str | None = None) -> None:
        self._license = license_content or ""

    def available(self) -> bool:
        """True when hexaly imports and a licence was given."""
        if not self._license.strip():
            return False
        try:
            _load()
        except SolverUnavailableError:
            return False
        return True

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        """Solve ``model``; raises SolverUnavailableError without library or licence."""
        if not self._license.strip():
            raise SolverUnavailableError("no Hexaly licence (HX_LICENSE_CONTENT)", solver=self.name)
        hx = _load()
        started = time.perf_counter()
        hx.HxVersion.license_content = self._license
        if model.var_type is not None and np.any(model.var_type == VarType.SEMI_CONTINUOUS):
            raise SolverFailedError(
                "semi-continuous columns", solver=self.name, status="unsupported"
            )
        try:
            with hx.HexalyOptimizer() as optimizer:
                xs = self._build(optimizer.model, model)
                optimizer.param.time_limit = max(1, math.ceil(options.time_limit_s))
                optimizer.param.verbosity = 0
                optimizer.solve()
                status = self._status(hx, optimizer.solution.status)
                values = [float(v.value) for v in xs] if status.has_solution else []
        except hx.HxError as exc:
            raise SolverFailedError(str(exc), solver=self.name, status="error") from exc
        runtime = time.perf_counter() - started
        if not status.has_solution:
            return Solution(status, self.name, runtime_s=runtime)
        x = np.asarray(values, dtype=np.float64)
        return Solution(status, self.name, x, model.objective(x), 0.0, runtime)

    @staticmethod
    def _build(m: Any, model: LinearModel) -> list[Any]:
        kinds = model.var_type if model.var_type is not None else np.zeros(model.num_cols)
        lo = np.clip(model.col_lower, -_BIG, _BIG)
        up = np.clip(model.col_upper, -_BIG, _BIG)
        xs = [
            m.int(int(lo[j]), int(up[j])) if kinds[j] == VarType.INTEGER else m.float(lo[j], up[j])
            for j in range(model.num_cols)
        ]
        counts = np.diff(model.col_start)
        cols = np.repeat(np.arange(model.num_cols), counts)
        order = np.argsort(model.row_index, kind="stable")
        start = np.searchsorted(model.row_index[order], np.arange(model.num_rows + 1))
        for i in range(model.num_rows):
            sel = order[start[i] : start[i + 1]]
            expr = m.sum([float(model.value[k]) * xs[cols[k]] for k in sel])
            if not math.isinf(model.row_lower[i]):
                m.constraint(expr >= float(model.row_lower[i]))
            if not math.isinf(model.row_upper[i]):
                m.constraint(expr <= float(model.row_upper[i]))
        objective = m.sum([float(c) * xs[j] for j, c in enumerate(model.cost) if c != 0.0])
        if model.sense is Sense.MAXIMIZE:
            m.maximize(objective)
        else:
            m.minimize(objective)
        m.close()
        return xs

    @staticmethod
    def _status(hx: Any, status: Any) -> SolveStatus:
        kinds = hx.HxSolutionStatus
        if status == kinds.OPTIMAL:
            return SolveStatus.OPTIMAL
        if status == kinds.FEASIBLE:
            return SolveStatus.FEASIBLE
        if status == kinds.INCONSISTENT:  # proven infeasible
            return SolveStatus.INFEASIBLE
        return SolveStatus.NO_SOLUTION  # INFEASIBLE: none found before the time limit
