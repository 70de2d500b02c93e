"""Errors raised by the charge scheduler.

    SchedulingError            base of every scheduling error
     ├── InvalidProblemError   the problem cannot be scheduled as given (e.g. no price for a slot)
     └── NoPlanError           neither the solver chain nor the greedy fallback produced a plan

Routes whose energy cannot be met are not errors: they are reported in ``ChargePlan.unmet``.
Solver failures are :class:`solvers.SolverError` and trigger the greedy fallback.
"""

from __future__ import annotations


class SchedulingError(Exception):
    """A charge schedule could not be produced."""

    def __init__(self, message: str, *, site_id: str) -> None:
        super().__init__(f"site {site_id}: {message}")
        self.site_id = site_id


class InvalidProblemError(SchedulingError):
    """The problem's data cannot be turned into a schedule (missing prices, bad window)."""


class NoPlanError(SchedulingError):
    """No method produced a plan (the greedy fallback was disabled or failed)."""
