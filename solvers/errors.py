"""Errors raised by the solver layer.

    SolverError                  base of every solver error; carries the solver's name
     ├── SolverUnavailableError  the backend is not installed or not licensed
     └── SolverFailedError       the backend ran but produced no usable solution

Backends translate their library's exceptions into these with ``raise ... from``.
"""

from __future__ import annotations


class SolverError(Exception):
    """A solver could not produce a usable solution."""

    def __init__(self, message: str, *, solver: str) -> None:
        super().__init__(f"{solver}: {message}")
        self.solver = solver


class SolverUnavailableError(SolverError):
    """The backend cannot run here (library missing, licence missing)."""


class SolverFailedError(SolverError):
    """The backend ran and returned no usable solution (error, infeasible, no incumbent)."""

    def __init__(self, message: str, *, solver: str, status: str) -> None:
        super().__init__(message, solver=solver)
        self.status = status
