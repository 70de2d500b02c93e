"""Why a route of the window has no vehicle: which constraints rejected it, for which vehicles.

For an uncovered route ``r`` and every vehicle ``v``, the constraints judge ``v`` driving ``r``
with only its kept routes. When every vehicle is rejected, the route is
``no_feasible_vehicle`` and ``rejected_by`` maps each constraint to the vehicles it rejected.
Otherwise it is ``no_capacity``: for every vehicle that could drive it alone, the constraints
judge ``r`` added to that vehicle's sequence in the allocation, and ``rejected_by`` says which
stood in the way (the optimum used those vehicles for more routes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from allocation.constraints import Constraint, rejections
from allocation.models import Route, Vehicle
from allocation.result import UnallocatedReason, UnallocatedRoute
from allocation.window import Context


def _with(routes: Sequence[Route], extra: Route) -> list[Route]:
    return sorted([*routes, extra], key=lambda r: (r.start, r.route_id))


def explain(
    ctx: Context,
    constraints: Sequence[Constraint],
    route: Route,
    vehicles: Sequence[Vehicle],
    sequences: Mapping[str, Sequence[Route]],
) -> UnallocatedRoute:
    """The reason ``route`` is uncovered given each vehicle's sequence (``sequences``)."""
    alone: dict[str, list[str]] = defaultdict(list)
    candidates: list[Vehicle] = []
    for v in vehicles:
        own = sequences.get(v.vehicle_id, ())
        kept = [r for r in own if ctx.kept.get(r.route_id) == v.vehicle_id]
        found = rejections(constraints, ctx, v, _with(kept, route))
        for rej in found:
            alone[rej.constraint].append(v.vehicle_id)
        if not found:
            candidates.append(v)
    if not candidates:
        return UnallocatedRoute(
            route_id=route.route_id,
            reason=UnallocatedReason.NO_FEASIBLE_VEHICLE,
            rejected_by={k: tuple(vs) for k, vs in sorted(alone.items())},
            detail=f"all {len(vehicles)} vehicles reject it on its own",
        )
    added: dict[str, list[str]] = defaultdict(list)
    open_to: list[str] = []
    for v in candidates:
        found = rejections(constraints, ctx, v, _with(sequences.get(v.vehicle_id, ()), route))
        for rej in found:
            added[rej.constraint].append(v.vehicle_id)
        if not found:
            open_to.append(v.vehicle_id)
    detail = (
        f"{len(candidates)} vehicles could drive it alone; "
        "each is busy with routes it cannot be combined with"
    )
    if open_to:
        detail = f"fits {', '.join(open_to)}, but the search stopped before using it"
    return UnallocatedRoute(
        route_id=route.route_id,
        reason=UnallocatedReason.NO_CAPACITY,
        rejected_by={k: tuple(vs) for k, vs in sorted(added.items())},
        detail=detail,
    )
