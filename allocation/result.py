"""Output models: the allocation (the ``allocation.json`` file format).

A result is also the ``previous`` allocation of the next run: re-runs read its assignments to
keep started routes, frozen assignments and, through the stability score, everything else
that need not change.
"""

from __future__ import annotations

import enum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Trigger(enum.StrEnum):
    """Why the allocation runs."""

    INITIAL = "initial"  # first run of the day: any previous allocation is ignored
    ROLLING = "rolling"  # periodic re-run as the window rolls on
    CANCELLATION = "cancellation"  # a route was cancelled
    VEHICLE_UNAVAILABLE = "vehicle_unavailable"  # a vehicle left or its availability shrank
    NEW_ROUTE = "new_route"  # a route was added


class AllocationStatus(enum.StrEnum):
    """How good the allocation is known to be."""

    OPTIMAL = "optimal"  # proven optimal over every feasible sequence (within mip_rel_gap)
    FEASIBLE = "feasible"  # the solver stopped early; ``mip_gap`` bounds the loss
    GREEDY = "greedy"  # the greedy fallback answered (``fallback_reason`` says why)


class UnallocatedReason(enum.StrEnum):
    """Why a route in the window has no vehicle."""

    NO_FEASIBLE_VEHICLE = "no_feasible_vehicle"  # every vehicle rejects the route on its own
    NO_CAPACITY = "no_capacity"  # some vehicles could drive it, but not next to their routes
    START_PASSED = "start_passed"  # planned, not started, and its start is before the window


class VehicleAssignment(_Frozen):
    """The sequence one vehicle drives, in start order."""

    vehicle_id: str
    route_ids: tuple[str, ...] = Field(min_length=1)
    kept_route_ids: tuple[str, ...] = Field(
        default=(), description="started routes and frozen assignments carried over"
    )
    score: float = Field(description="sequence score before scaling (sum of weighted terms)")
    driving_h: float
    end_soc_pct: float = Field(description="SoC when the last route returns")
    min_soc_pct: float = Field(description="lowest SoC at any return")


class UnallocatedRoute(_Frozen):
    """A route of the window no vehicle drives, and which constraints stood in the way."""

    route_id: str
    reason: UnallocatedReason
    rejected_by: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="constraint name -> vehicle ids it rejected"
    )
    detail: str = ""


class ReleasedAssignment(_Frozen):
    """A frozen assignment that no longer holds (e.g. its vehicle became unavailable)."""

    route_id: str
    vehicle_id: str
    constraint: str
    detail: str


class RouteChange(_Frozen):
    """A route whose vehicle differs from the previous allocation's (None: no vehicle)."""

    route_id: str
    before: str | None
    after: str | None


class AllocationResult(_Frozen):
    """The allocator's answer for one site and window."""

    site_id: str
    trigger: Trigger
    window_start: AwareDatetime
    window_end: AwareDatetime
    status: AllocationStatus
    solver: str = Field(description="the solver backend that answered, or 'greedy'")
    fallback_reason: str | None = None
    objective: float = Field(description="W * routes covered + scaled scores")
    bound: float = Field(description="upper bound on the objective of any allocation")
    mip_gap: float = Field(description="(bound - objective) / objective, 0 when proven optimal")
    score_scale: float = Field(description="factor applied to scores in the objective")
    routes_in_window: int
    routes_covered: int
    max_routes_coverable: int = Field(
        description="proven upper bound on routes any allocation covers (from the bound)"
    )
    sequences_generated: int
    runtime_s: float
    assignments: tuple[VehicleAssignment, ...]
    unallocated: tuple[UnallocatedRoute, ...] = ()
    released: tuple[ReleasedAssignment, ...] = ()
    changes: tuple[RouteChange, ...] = Field(
        default=(), description="differences from the previous allocation (re-runs)"
    )
    cancelled_route_ids: tuple[str, ...] = ()
    deferred_route_ids: tuple[str, ...] = Field(
        default=(), description="routes starting after the window: a later run allocates them"
    )

    def vehicle_of(self) -> dict[str, str]:
        """Route id -> vehicle id of every assignment."""
        return {r: a.vehicle_id for a in self.assignments for r in a.route_ids}
