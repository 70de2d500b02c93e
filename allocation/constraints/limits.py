"""Limits per sequence: number of routes and driving hours."""

from __future__ import annotations

from collections.abc import Sequence

from allocation.constraints.base import SequenceConstraint
from allocation.models import Route, Vehicle
from allocation.window import Context


class MaxRoutes(SequenceConstraint):
    """At most ``max_routes_per_sequence`` routes."""

    name = "max_routes"

    def admits_sequence(
        self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]
    ) -> tuple[tuple[str, ...], str] | None:
        """Reject a sequence with too many routes."""
        limit = ctx.params.max_routes_per_sequence
        if len(routes) <= limit:
            return None
        return (routes[-1].route_id,), f"{len(routes)} routes, at most {limit}"


class MaxDrivingHours(SequenceConstraint):
    """At most ``max_driving_h`` hours on the road, summed over the sequence's routes."""

    name = "max_driving_h"

    def admits_sequence(
        self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]
    ) -> tuple[tuple[str, ...], str] | None:
        """Reject a sequence driving too long."""
        limit = ctx.params.max_driving_h
        hours = sum(r.duration_h for r in routes)
        if hours <= limit + 1e-9:
            return None
        return (routes[-1].route_id,), f"{hours:.1f} h of routes, at most {limit:g} h"
