"""Try solver backends in order until one returns a usable solution."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from solvers.errors import SolverError, SolverFailedError
from solvers.model import LinearModel, Solution, SolveOptions, SolveStatus
from solvers.protocol import Solver

log = structlog.get_logger(__name__)

_MODEL_VERDICTS = (SolveStatus.INFEASIBLE, SolveStatus.UNBOUNDED)


class SolverChain:
    """Falls through backends that are unavailable or fail; the first solution wins.

    An infeasible or unbounded verdict is a property of the model, not of the backend, so it
    is returned at once instead of asking the next backend the same question.
    """

    name = "chain"

    def __init__(self, solvers: Sequence[Solver]) -> None:
        if not solvers:
            raise ValueError("a solver chain needs at least one solver")
        self.solvers = tuple(solvers)
        self._reported_unavailable: set[str] = set()

    def available(self) -> bool:
        """True when any backend of the chain can run."""
        return any(s.available() for s in self.solvers)

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        """Solve with the first backend that produces a verdict; raise the last error if none."""
        last: SolverError | None = None
        for solver in self.solvers:
            if not solver.available():
                if solver.name not in self._reported_unavailable:
                    self._reported_unavailable.add(solver.name)
                    log.warning("solver_unavailable", solver=solver.name, model=model.name)
                last = SolverError("unavailable", solver=solver.name)
                continue
            try:
                solution = solver.solve(model, options)
            except SolverError as exc:
                log.warning("solver_failed", solver=solver.name, model=model.name, error=str(exc))
                last = exc
                continue
            if solution.status.has_solution or solution.status in _MODEL_VERDICTS:
                return solution
            last = SolverFailedError(
                solution.message or "no solution", solver=solver.name, status=solution.status.value
            )
            log.warning(
                "solver_no_solution", solver=solver.name, model=model.name, status=last.status
            )
        assert last is not None  # noqa: S101  (the loop ran at least once)
        raise last
