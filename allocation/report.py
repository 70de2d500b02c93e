"""Turn the chosen sequences into an :class:`AllocationResult`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from allocation.energy import simulate
from allocation.explain import explain
from allocation.instance import Instance
from allocation.models import Route
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
from allocation.search import Seq, SequenceSearch
from allocation.window import Window


@dataclass(frozen=True)
class Outcome:
    """What a method chose and what is known about its quality."""

    chosen: tuple[tuple[int, Seq], ...]
    status: AllocationStatus
    solver: str
    bound: float
    sequences: int
    fallback_reason: str | None = None


def _assignment(inst: Instance, v: int, seq: Seq) -> VehicleAssignment:
    veh = inst.vehicles[v]
    routes = [inst.routes[i] for i in seq]
    trace = simulate(
        veh,
        routes,
        now=inst.ctx.window_start,
        charging_efficiency=inst.ctx.params.charging_efficiency,
    )
    pct = 100 / veh.battery_kwh
    return VehicleAssignment(
        vehicle_id=veh.vehicle_id,
        route_ids=tuple(r.route_id for r in routes),
        kept_route_ids=tuple(r.route_id for r in routes if r.route_id in inst.ctx.kept),
        score=inst.scoring.score(inst.ctx, veh, routes),
        driving_h=sum(r.duration_h for r in routes),
        end_soc_pct=trace.returns_kwh[-1] * pct,
        min_soc_pct=trace.min_kwh * pct,
    )


def _changes(
    before: dict[str, str], after: dict[str, str], decided: set[str]
) -> tuple[RouteChange, ...]:
    ids = sorted((set(before) | set(after)) & decided)
    return tuple(
        RouteChange(route_id=r, before=before.get(r), after=after.get(r))
        for r in ids
        if before.get(r) != after.get(r)
    )


def make_result(
    *,
    site_id: str,
    trigger: Trigger,
    window: Window,
    search: SequenceSearch,
    outcome: Outcome,
    released: Sequence[ReleasedAssignment],
    previous: dict[str, str] | None,
    runtime_s: float,
) -> AllocationResult:
    """The result file of one run.

    ``previous``: the previous allocation (route -> vehicle) a re-run started from; changes
    are reported against it, and not at all without one.
    """
    inst = search.inst
    chosen = sorted(outcome.chosen, key=lambda c: inst.vehicles[c[0]].vehicle_id)
    assignments = tuple(_assignment(inst, v, seq) for v, seq in chosen)
    objective = sum(search.column_value(v, seq) for v, seq in chosen)
    covered = {i for _, seq in chosen for i in seq}
    sequences: dict[str, list[Route]] = {
        inst.vehicles[v].vehicle_id: [inst.routes[i] for i in seq] for v, seq in chosen
    }
    unallocated = [
        explain(inst.ctx, inst.constraints, r, inst.vehicles, sequences)
        for i, r in enumerate(inst.routes)
        if i not in covered
    ]
    unallocated += [
        UnallocatedRoute(
            route_id=rid,
            reason=UnallocatedReason.START_PASSED,
            detail="planned start is before the window and the route has not started",
        )
        for rid in window.passed
    ]
    after = {r: a.vehicle_id for a in assignments for r in a.route_ids}
    decided = {r.route_id for r in inst.routes} | set(window.cancelled) | set(window.passed)
    bound = max(outcome.bound, objective)
    weight = inst.covered_route_weight
    by_bound = math.floor((bound - inst.scoring.lowest_total(inst.n_vehicles)) / weight + 1e-9)
    coverable = min(int(inst.feasible.any(axis=0).sum()), by_bound)
    return AllocationResult(
        site_id=site_id,
        trigger=trigger,
        window_start=inst.ctx.window_start,
        window_end=inst.ctx.window_end,
        status=outcome.status,
        solver=outcome.solver,
        fallback_reason=outcome.fallback_reason,
        objective=objective,
        bound=bound,
        mip_gap=(bound - objective) / max(abs(objective), 1.0),
        score_scale=inst.scoring.scale,
        routes_in_window=inst.n_routes,
        routes_covered=len(covered),
        max_routes_coverable=coverable,
        sequences_generated=outcome.sequences,
        runtime_s=runtime_s,
        assignments=assignments,
        unallocated=tuple(sorted(unallocated, key=lambda u: u.route_id)),
        released=tuple(released),
        changes=() if previous is None else _changes(previous, after, decided),
        cancelled_route_ids=window.cancelled,
        deferred_route_ids=window.deferred,
    )
