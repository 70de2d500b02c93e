"""The numeric form of one run: what each vehicle may drive, what may follow what, and values.

Route and transition constraints are evaluated once here and cached as arrays:

* ``feasible[v, r]``: vehicle ``v`` may drive route ``r`` alone (route constraints, and the
  sequence constraints on the one-route sequence: by heredity a route rejected alone is
  rejected in any sequence);
* ``follows[i, j]``: route ``j`` may come right after route ``i`` (transition constraints;
  routes are indexed by start, so only ``i < j`` can be true);
* ``required[v]``: routes kept on ``v`` (started, frozen); every sequence of ``v`` holds them;
* ``route_value[v, r]``: ``W + scale * route terms``, the route's share of a sequence's
  objective coefficient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocation.constraints import (
    Constraint,
    RouteConstraint,
    SequenceConstraint,
    TransitionConstraint,
)
from allocation.models import Route, Vehicle
from allocation.scoring import Scoring, Term
from allocation.window import Context
from solvers.model import FloatArray

BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Instance:
    """Arrays over vehicles x routes for sequence generation, the MIP and the greedy."""

    ctx: Context
    routes: tuple[Route, ...]
    vehicles: tuple[Vehicle, ...]
    constraints: tuple[Constraint, ...]
    scoring: Scoring
    feasible: BoolArray  # (V, R)
    follows: BoolArray  # (R, R)
    required: tuple[tuple[int, ...], ...]  # (V,) route indices, by start
    route_value: FloatArray  # (V, R)

    @property
    def sequence_constraints(self) -> tuple[Constraint, ...]:
        """Constraints judged on whole (partial) sequences during generation."""
        return tuple(
            c for c in self.constraints if not isinstance(c, RouteConstraint | TransitionConstraint)
        )

    @property
    def covered_route_weight(self) -> float:
        """W."""
        return self.ctx.params.covered_route_weight

    @property
    def n_routes(self) -> int:
        """Routes in the run (started and allocatable)."""
        return len(self.routes)

    @property
    def n_vehicles(self) -> int:
        """Vehicles of the day."""
        return len(self.vehicles)


def _route_ok(
    ctx: Context, constraints: Sequence[Constraint], vehicle: Vehicle, route: Route
) -> bool:
    if ctx.is_started_on(route.route_id, vehicle.vehicle_id):
        return True
    one = (route,)
    return all(
        c.check(ctx, vehicle, one) is None
        for c in constraints
        if not isinstance(c, TransitionConstraint)
    )


def build_instance(
    ctx: Context,
    routes: Sequence[Route],
    vehicles: Sequence[Vehicle],
    constraints: Sequence[Constraint],
    terms: Sequence[Term],
) -> Instance:
    """Evaluate route and transition constraints and route scores for one run."""
    routes = tuple(sorted(routes, key=lambda r: (r.start, r.route_id)))
    vehicles = tuple(vehicles)
    n_r, n_v = len(routes), len(vehicles)
    scoring = Scoring.build(terms, ctx.params, n_r, n_v)
    route_cs = [c for c in constraints if isinstance(c, RouteConstraint)]
    seq_cs = [c for c in constraints if isinstance(c, SequenceConstraint)]
    other = [
        c
        for c in constraints
        if not isinstance(c, RouteConstraint | TransitionConstraint | SequenceConstraint)
    ]
    unary = [*route_cs, *seq_cs, *other]
    feasible = np.zeros((n_v, n_r), dtype=bool)
    value = np.zeros((n_v, n_r))
    w = ctx.params.covered_route_weight
    for vi, veh in enumerate(vehicles):
        for ri, r in enumerate(routes):
            if _route_ok(ctx, unary, veh, r):
                feasible[vi, ri] = True
                value[vi, ri] = w + scoring.scale * scoring.route_score(ctx, veh, r)
    transitions = [c for c in constraints if isinstance(c, TransitionConstraint)]
    follows = np.triu(np.ones((n_r, n_r), dtype=bool), k=1)
    for c in transitions:
        follows &= c.follows_matrix(ctx, routes)
    index = {r.route_id: i for i, r in enumerate(routes)}
    required = tuple(
        tuple(sorted(index[rid] for rid, vid in ctx.kept.items() if vid == veh.vehicle_id))
        for veh in vehicles
    )
    return Instance(
        ctx, routes, vehicles, tuple(constraints), scoring, feasible, follows, required, value
    )
