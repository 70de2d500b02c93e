"""Modular constraints on a vehicle's sequence of routes.

``DEFAULT_CONSTRAINTS`` is the registry the allocator uses unless told otherwise. Adding a
constraint means writing one class (derived from :class:`RouteConstraint`,
:class:`TransitionConstraint` or :class:`SequenceConstraint`, see :mod:`.base`) and adding an
instance here, or passing ``AllocateOptions(constraints=DEFAULT_CONSTRAINTS + (Mine(),))``.
"""

from allocation.constraints.availability import AvailabilityWindow
from allocation.constraints.base import (
    Constraint,
    Rejection,
    RouteConstraint,
    SequenceConstraint,
    TransitionConstraint,
    rejections,
)
from allocation.constraints.capability import VehicleCapability
from allocation.constraints.energy import EnergyFeasibility
from allocation.constraints.kept import KeptAssignment
from allocation.constraints.limits import MaxDrivingHours, MaxRoutes
from allocation.constraints.overlap import NoOverlap

DEFAULT_CONSTRAINTS: tuple[Constraint, ...] = (
    KeptAssignment(),
    VehicleCapability(),
    AvailabilityWindow(),
    NoOverlap(),
    MaxRoutes(),
    MaxDrivingHours(),
    EnergyFeasibility(),
)

__all__ = [
    "DEFAULT_CONSTRAINTS",
    "AvailabilityWindow",
    "Constraint",
    "EnergyFeasibility",
    "KeptAssignment",
    "MaxDrivingHours",
    "MaxRoutes",
    "NoOverlap",
    "Rejection",
    "RouteConstraint",
    "SequenceConstraint",
    "TransitionConstraint",
    "VehicleCapability",
    "rejections",
]
