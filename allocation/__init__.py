"""Allocation of delivery routes to vehicles over a rolling window.

``allocate(day, trigger=..., previous=..., options=...) -> AllocationResult`` is the entry
point: a pure, synchronous function over the input models of :mod:`allocation.models`. It
selects at most one sequence of routes per vehicle and each route at most once, maximising
``W`` per covered route, then the sequences' scores (the seed's set-packing model), with the
greedy as fallback. :func:`check_allocation` verifies any result independently against the
raw day.
"""

from allocation.allocator import AllocateOptions, Method, allocate
from allocation.checker import Violation, check_allocation
from allocation.constraints import (
    DEFAULT_CONSTRAINTS,
    Constraint,
    Rejection,
    RouteConstraint,
    SequenceConstraint,
    TransitionConstraint,
)
from allocation.errors import AllocationError, InvalidDayError, NoAllocationError
from allocation.models import AllocationParameters, DepotDay, Route, RouteStatus, Vehicle
from allocation.result import (
    AllocationResult,
    AllocationStatus,
    ReleasedAssignment,
    RouteChange,
    Trigger,
    UnallocatedReason,
    UnallocatedRoute,
    VehicleAssignment,
)
from allocation.scoring import DEFAULT_TERMS, RouteTerm, SequenceTerm
from allocation.synthetic import synthetic_day
from allocation.timeline import advance
from allocation.window import Context

__all__ = [
    "DEFAULT_CONSTRAINTS",
    "DEFAULT_TERMS",
    "AllocateOptions",
    "AllocationError",
    "AllocationParameters",
    "AllocationResult",
    "AllocationStatus",
    "Constraint",
    "Context",
    "DepotDay",
    "InvalidDayError",
    "Method",
    "NoAllocationError",
    "Rejection",
    "ReleasedAssignment",
    "Route",
    "RouteChange",
    "RouteConstraint",
    "RouteStatus",
    "RouteTerm",
    "SequenceConstraint",
    "SequenceTerm",
    "TransitionConstraint",
    "Trigger",
    "UnallocatedReason",
    "UnallocatedRoute",
    "Vehicle",
    "VehicleAssignment",
    "Violation",
    "advance",
    "allocate",
    "check_allocation",
    "synthetic_day",
]
