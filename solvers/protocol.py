"""The port every solver backend implements."""

from __future__ import annotations

from typing import Protocol

from solvers.model import LinearModel, Solution, SolveOptions


class Solver(Protocol):
    """Solves a :class:`LinearModel`.

    ``solve`` raises :class:`~solvers.errors.SolverUnavailableError` when the backend cannot
    run here, and returns a :class:`Solution` with a non-solution status when the model is
    infeasible or no incumbent was found in time.
    """

    name: str

    def available(self) -> bool:
        """True when the backend can run in this process (library present, licensed)."""
        ...

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        """Solve ``model`` under ``options``; never blocks past ``options.time_limit_s`` by much."""
        ...
