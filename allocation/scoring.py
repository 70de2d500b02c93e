"""Sequence scores as modular, weighted terms; the weights are site parameters.

The score of a vehicle's sequence ``s`` is ``sum_t w_t * f_t(s)``:

* a :class:`RouteTerm` adds ``f(vehicle, route)`` in ``[0, 1]`` for every route of ``s``
  (keeping the planned vehicle; keeping the previous allocation's vehicle on a re-run);
* a :class:`SequenceTerm` adds one ``f(vehicle, s)`` in ``[lower, upper]`` per sequence
  (energy margin at the lowest return; ``-1`` for every vehicle used).

In the objective, scores are multiplied by ``scale = 0.49 W / B`` with
``B = routes * sum(route weights) + vehicles * sum(sequence weights * max|f|)``: the scores of
a whole allocation then sum to at most ``0.49 W`` in absolute value, so two allocations'
scores differ by less than ``W`` and one more covered route always wins.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from allocation.energy import reserve_kwh
from allocation.models import AllocationParameters, Route, Vehicle
from allocation.window import Context

SCALE_SHARE = 0.49


class RouteTerm(abc.ABC):
    """A score earned route by route."""

    name: ClassVar[str]

    @abc.abstractmethod
    def weight(self, params: AllocationParameters) -> float:
        """The term's weight (>= 0), usually a site parameter."""

    @abc.abstractmethod
    def value(self, ctx: Context, vehicle: Vehicle, route: Route) -> float:
        """The route's contribution when this vehicle drives it, in [0, 1]."""


class SequenceTerm(abc.ABC):
    """A score earned once per sequence."""

    name: ClassVar[str]
    lower: ClassVar[float] = -1.0
    upper: ClassVar[float] = 1.0

    @abc.abstractmethod
    def weight(self, params: AllocationParameters) -> float:
        """The term's weight (>= 0), usually a site parameter."""

    @abc.abstractmethod
    def value(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> float:
        """The sequence's contribution, in [lower, upper]."""

    def bound(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> float:
        """An upper bound of ``value`` over ``routes`` followed by any routes."""
        return self.upper


class PlannedVehicle(RouteTerm):
    """1 per route driven by the vehicle the planner gave it."""

    name = "keep_planned"

    def weight(self, params: AllocationParameters) -> float:
        """``keep_planned_weight``."""
        return params.keep_planned_weight

    def value(self, ctx: Context, vehicle: Vehicle, route: Route) -> float:
        """1 when this is the route's planned vehicle."""
        return 1.0 if route.planned_vehicle_id == vehicle.vehicle_id else 0.0


class PreviousAssignment(RouteTerm):
    """1 per route kept on the vehicle of the previous allocation (stability of re-runs)."""

    name = "keep_previous"

    def weight(self, params: AllocationParameters) -> float:
        """``keep_previous_weight``."""
        return params.keep_previous_weight

    def value(self, ctx: Context, vehicle: Vehicle, route: Route) -> float:
        """1 when the previous allocation gave the route to this vehicle."""
        return 1.0 if ctx.previous.get(route.route_id) == vehicle.vehicle_id else 0.0


class EnergyMargin(SequenceTerm):
    """Share of the usable battery (above the reserve) left at the lowest return."""

    name = "energy_margin"
    lower = 0.0

    def weight(self, params: AllocationParameters) -> float:
        """``energy_margin_weight``."""
        return params.energy_margin_weight

    def value(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> float:
        """``(lowest return - reserve) / (battery - reserve)``, clipped to [0, 1]."""
        trace = ctx.traces.trace(vehicle, routes)
        reserve = reserve_kwh(vehicle, ctx.params.reserve_soc_pct)
        share = (trace.min_kwh - reserve) / (vehicle.battery_kwh - reserve)
        return min(1.0, max(0.0, share))

    def bound(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> float:
        """Appending routes adds returns, so the lowest one can only drop."""
        return self.value(ctx, vehicle, routes) if routes else self.upper


class VehicleUsed(SequenceTerm):
    """-1 per vehicle used: fewer vehicles for the same routes."""

    name = "vehicle_used"
    lower = -1.0
    upper = -1.0

    def weight(self, params: AllocationParameters) -> float:
        """``vehicle_used_weight``."""
        return params.vehicle_used_weight

    def value(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> float:
        """Always -1."""
        return -1.0


Term = RouteTerm | SequenceTerm

DEFAULT_TERMS: tuple[Term, ...] = (
    PlannedVehicle(),
    PreviousAssignment(),
    EnergyMargin(),
    VehicleUsed(),
)


@dataclass(frozen=True)
class Scoring:
    """Weighted terms of one run and the scale that keeps them below ``W``."""

    route_terms: tuple[tuple[RouteTerm, float], ...]
    sequence_terms: tuple[tuple[SequenceTerm, float], ...]
    scale: float

    @classmethod
    def build(
        cls, terms: Sequence[Term], params: AllocationParameters, n_routes: int, n_vehicles: int
    ) -> Scoring:
        """Read the weights and compute the scale for this many routes and vehicles."""
        route_terms = tuple((t, t.weight(params)) for t in terms if isinstance(t, RouteTerm))
        seq_terms = tuple((t, t.weight(params)) for t in terms if isinstance(t, SequenceTerm))
        bound = n_routes * sum(w for _, w in route_terms) + n_vehicles * sum(
            w * max(abs(t.lower), abs(t.upper)) for t, w in seq_terms
        )
        scale = SCALE_SHARE * params.covered_route_weight / bound if bound > 0 else 0.0
        return cls(route_terms, seq_terms, scale)

    def lowest_total(self, n_vehicles: int) -> float:
        """The lowest scaled score an allocation can have (route terms are never negative)."""
        per_vehicle = sum(w * min(t.lower, 0.0) for t, w in self.sequence_terms)
        return self.scale * n_vehicles * per_vehicle

    def route_score(self, ctx: Context, vehicle: Vehicle, route: Route) -> float:
        """Unscaled sum of the route terms for this vehicle and route."""
        return sum(w * t.value(ctx, vehicle, route) for t, w in self.route_terms if w)

    def sequence_score(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> float:
        """Unscaled sum of the sequence terms."""
        return sum(w * t.value(ctx, vehicle, routes) for t, w in self.sequence_terms if w)

    def sequence_bound(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> float:
        """Unscaled upper bound of the sequence terms of any extension of ``routes``."""
        return sum(w * t.bound(ctx, vehicle, routes) for t, w in self.sequence_terms if w)

    def score(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> float:
        """Unscaled score of the whole sequence."""
        per_route = sum(self.route_score(ctx, vehicle, r) for r in routes)
        return per_route + self.sequence_score(ctx, vehicle, routes)
