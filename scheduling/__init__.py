"""Charge scheduling of depot vehicles in 30-minute slots.

``schedule(problem, options) -> ChargePlan`` is the entry point: a pure, synchronous function
over the input models of :mod:`scheduling.models`; :func:`check_plan` verifies any plan
independently against the raw problem.
"""

from scheduling.checker import Violation, check_plan
from scheduling.errors import InvalidProblemError, NoPlanError, SchedulingError
from scheduling.instance import ChargeInstance, build_instance
from scheduling.lp import LpForm, build_lp
from scheduling.models import (
    LoadPoint,
    Mode,
    PricePoint,
    Route,
    RouteAssignment,
    ScheduleProblem,
    SiteParameters,
    VehicleSpec,
)
from scheduling.plan import (
    Baseline,
    ChargePlan,
    CostBreakdown,
    PlanStatus,
    UnmetReason,
    UnmetRequirement,
    VehiclePlan,
    WindowAdaptation,
)
from scheduling.scheduler import Method, ScheduleOptions, schedule, schedule_instance

__all__ = [
    "Baseline",
    "ChargeInstance",
    "ChargePlan",
    "CostBreakdown",
    "InvalidProblemError",
    "LoadPoint",
    "LpForm",
    "Method",
    "Mode",
    "NoPlanError",
    "PlanStatus",
    "PricePoint",
    "Route",
    "RouteAssignment",
    "ScheduleOptions",
    "ScheduleProblem",
    "SchedulingError",
    "SiteParameters",
    "UnmetReason",
    "UnmetRequirement",
    "VehiclePlan",
    "VehicleSpec",
    "Violation",
    "WindowAdaptation",
    "build_instance",
    "build_lp",
    "check_plan",
    "schedule",
    "schedule_instance",
]
