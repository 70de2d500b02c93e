"""The constraint framework: a constraint accepts or rejects a (vehicle, sequence) and says why.

Every constraint is a small class with a ``name`` and a ``check(ctx, vehicle, routes)`` that
returns ``None`` (accepted) or a :class:`Rejection`. It derives from one of three bases that
tell sequence generation how far the verdict can be cached:

* :class:`RouteConstraint`: depends on one route and the vehicle (``admits``); generation
  evaluates it once per (vehicle, route);
* :class:`TransitionConstraint`: depends on two consecutive routes only, whatever the vehicle
  (``follows``); evaluated once per ordered pair of routes;
* :class:`SequenceConstraint`: depends on the whole sequence (``admits_sequence``); evaluated
  on every partial sequence generation extends.

Every constraint must be **hereditary**: when it accepts a sequence it accepts every
sub-sequence (some routes removed, order kept). Generation prunes on that (a rejected prefix
is never extended, a route that cannot pay for itself is skipped), and so does a re-run that
drops a cancelled route from a sequence. Time, energy, counts and hours all are.

Routes on the road with the vehicle (``ctx.started``) are facts: route constraints do not
judge them on their own vehicle, and a sequence made only of them is always accepted.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from allocation.models import Route, Vehicle
from allocation.window import Context


@dataclass(frozen=True)
class Rejection:
    """Why a constraint rejects a vehicle's sequence."""

    constraint: str
    vehicle_id: str
    route_ids: tuple[str, ...]  # the routes at fault
    detail: str


class Constraint(abc.ABC):
    """Accepts or rejects a vehicle's sequence of routes (in start order)."""

    name: ClassVar[str]

    @abc.abstractmethod
    def check(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> Rejection | None:
        """None when the sequence is acceptable, else why not."""


def only_started(ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> bool:
    """True when every route is on the road with this vehicle."""
    if not ctx.started:
        return False
    return all(ctx.is_started_on(r.route_id, vehicle.vehicle_id) for r in routes)


class RouteConstraint(Constraint):
    """A constraint on each route of the sequence, for this vehicle."""

    @abc.abstractmethod
    def admits(self, ctx: Context, vehicle: Vehicle, route: Route) -> str | None:
        """None when the vehicle may drive the route, else why not."""

    def check(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> Rejection | None:
        """The first route this vehicle may not drive (started routes exempt)."""
        for r in routes:
            if ctx.is_started_on(r.route_id, vehicle.vehicle_id):
                continue
            why = self.admits(ctx, vehicle, r)
            if why is not None:
                return Rejection(self.name, vehicle.vehicle_id, (r.route_id,), why)
        return None


class TransitionConstraint(Constraint):
    """A constraint on each pair of consecutive routes, the same for every vehicle."""

    @abc.abstractmethod
    def follows(self, ctx: Context, before: Route, after: Route) -> str | None:
        """None when one vehicle may drive ``after`` right after ``before``, else why not."""

    def follows_matrix(self, ctx: Context, routes: Sequence[Route]) -> NDArray[np.bool_]:
        """``m[i, j]``: ``routes[j]`` may follow ``routes[i]`` (routes in start order, i < j).

        Generation calls this once per run; override it with array code when the rule allows
        (it must agree with :meth:`follows`).
        """
        n = len(routes)
        out = np.zeros((n, n), dtype=bool)
        for i, a in enumerate(routes):
            for j in range(i + 1, n):
                out[i, j] = self.follows(ctx, a, routes[j]) is None
        return out

    def check(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> Rejection | None:
        """The first pair of consecutive routes that may not follow each other."""
        for a, b in pairwise(routes):
            why = self.follows(ctx, a, b)
            if why is not None:
                return Rejection(self.name, vehicle.vehicle_id, (a.route_id, b.route_id), why)
        return None


class SequenceConstraint(Constraint):
    """A constraint on the sequence as a whole."""

    @abc.abstractmethod
    def admits_sequence(
        self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]
    ) -> tuple[tuple[str, ...], str] | None:
        """None when acceptable, else (routes at fault, why not)."""

    def check(self, ctx: Context, vehicle: Vehicle, routes: Sequence[Route]) -> Rejection | None:
        """Judge the sequence, unless it holds only routes already on the road."""
        if only_started(ctx, vehicle, routes):
            return None
        verdict = self.admits_sequence(ctx, vehicle, routes)
        if verdict is None:
            return None
        return Rejection(self.name, vehicle.vehicle_id, verdict[0], verdict[1])


def rejections(
    constraints: Sequence[Constraint], ctx: Context, vehicle: Vehicle, routes: Sequence[Route]
) -> list[Rejection]:
    """Every constraint's rejection of the sequence (empty: acceptable)."""
    out = []
    for c in constraints:
        rejection = c.check(ctx, vehicle, routes)
        if rejection is not None:
            out.append(rejection)
    return out
