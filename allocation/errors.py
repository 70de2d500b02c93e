"""Errors raised by the route allocator.

    AllocationError            base of every allocation error; carries the site id
     ├── InvalidDayError       the day cannot be allocated as given (e.g. a started route with
     │                         no vehicle, or on a vehicle missing from the day)
     └── NoAllocationError     the solver chain failed and the greedy fallback was disabled

Routes that cannot be covered are not errors: they are reported in
``AllocationResult.unallocated`` with the constraints that rejected them. Solver failures are
:class:`solvers.SolverError` and trigger the greedy fallback.
"""

from __future__ import annotations


class AllocationError(Exception):
    """A route allocation could not be produced."""

    def __init__(self, message: str, *, site_id: str) -> None:
        super().__init__(f"site {site_id}: {message}")
        self.site_id = site_id


class InvalidDayError(AllocationError):
    """The day's data contradicts itself (started routes without a known vehicle)."""

    def __init__(self, message: str, *, site_id: str, route_id: str | None = None) -> None:
        super().__init__(message, site_id=site_id)
        self.route_id = route_id


class NoAllocationError(AllocationError):
    """No method produced an allocation (the solver failed, the fallback was disabled)."""
