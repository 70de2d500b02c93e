"""Best sequences of one vehicle under given route values: branch and bound on the route DAG.

A sequence of vehicle ``v`` is worth ``sum(values[r]) + const + scale * sequence terms``. The
search walks the compatibility DAG (``follows``) in start order from every route ``v`` may
drive, never skipping a required route, and prunes with

* heredity: a partial sequence a sequence constraint rejects is never extended; when looking
  for the best sequences, routes of value <= 0 only appear alone (dropping one from a longer
  sequence keeps it feasible and does not lower its worth: the sequence terms do not drop
  when a route goes);
* a bound: the best sum of values over at most ``max_routes - len`` further routes (a dynamic
  programme over the DAG, ignoring sequence constraints) plus the sequence terms' bound.

The same search prices columns (values = reduced route values), runs the greedy (values = the
routes' objective shares) and enumerates every column above a threshold. Verdicts and
sequence scores are memoised per (vehicle, sequence) for the whole run.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from allocation.instance import Instance
from allocation.models import Route, Vehicle
from allocation.window import Context
from solvers.model import FloatArray

Seq = tuple[int, ...]


class TooManySequences(Exception):  # noqa: N818  (a signal between two modules, not an error)
    """An enumeration exceeded its limit."""


class _OutOfNodes(Exception):  # noqa: N818  (internal signal)
    """The node budget ran out."""


@dataclass(order=True, frozen=True)
class Found:
    """A sequence and its worth under the values searched with."""

    value: float
    routes: Seq = field(compare=False)


@dataclass(frozen=True)
class Searched:
    """What a search found, and an upper bound on the worth of any sequence of the vehicle.

    ``exact``: the search finished, so ``found`` holds every sequence it was asked for (the
    best and its runners-up, or all above the threshold); otherwise the node budget ran out and
    ``found`` holds the best seen. ``upper`` is the best worth when exact, else the root's bound.
    """

    found: list[Found]
    exact: bool
    upper: float

    @property
    def best(self) -> Found | None:
        """The best sequence found, if any."""
        return self.found[0] if self.found else None


class SequenceSearch:
    """Searches one run's sequences; holds the memo of verdicts and sequence scores."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self._seq_constraints = inst.sequence_constraints
        self._accepts: dict[tuple[int, Seq], bool] = {}
        self._score: dict[tuple[int, Seq], float] = {}
        self._bound: dict[tuple[int, Seq], float] = {}
        self.nodes = 0

    def accepts(self, v: int, seq: Seq) -> bool:
        """True when every sequence constraint accepts ``seq`` for vehicle ``v``."""
        key = (v, seq)
        hit = self._accepts.get(key)
        if hit is None:
            inst = self.inst
            routes = [inst.routes[i] for i in seq]
            veh = inst.vehicles[v]
            hit = True
            for c in self._seq_constraints:
                if c.check(inst.ctx, veh, routes) is not None:
                    hit = False
                    break
            self._accepts[key] = hit
        return hit

    def sequence_value(self, v: int, seq: Seq) -> float:
        """Scaled sequence terms of ``seq``."""
        return self._scaled(self._score, self.inst.scoring.sequence_score, v, seq)

    def sequence_bound(self, v: int, seq: Seq) -> float:
        """Scaled bound of the sequence terms of any extension of ``seq``."""
        return self._scaled(self._bound, self.inst.scoring.sequence_bound, v, seq)

    def _scaled(
        self,
        cache: dict[tuple[int, Seq], float],
        terms: Callable[[Context, Vehicle, Sequence[Route]], float],
        v: int,
        seq: Seq,
    ) -> float:
        """``terms`` of vehicle ``v`` on ``seq``, scaled, computed once per key."""
        key = (v, seq)
        hit = cache.get(key)
        if hit is None:
            inst = self.inst
            routes = [inst.routes[i] for i in seq]
            hit = cache[key] = inst.scoring.scale * terms(inst.ctx, inst.vehicles[v], routes)
        return hit

    def is_column(self, v: int, seq: Seq) -> bool:
        """True when ``seq`` (route indices by start) is a valid sequence of vehicle ``v``."""
        inst = self.inst
        if not seq or not set(inst.required[v]) <= set(seq) or list(seq) != sorted(seq):
            return False
        if not all(inst.feasible[v, r] for r in seq):
            return False
        if not all(inst.follows[a, b] for a, b in pairwise(seq)):
            return False
        return self.accepts(v, seq)

    def column_value(self, v: int, seq: Seq) -> float:
        """Objective coefficient of the column (v, seq): ``W |seq| + scale * score``."""
        per_route = float(self.inst.route_value[v, list(seq)].sum())
        return per_route + self.sequence_value(v, seq)

    def search(
        self,
        v: int,
        values: FloatArray,
        const: float = 0.0,
        *,
        threshold: float = 0.0,
        best: int | None = 1,
        allowed: np.ndarray | None = None,
        limit: int | None = None,
        max_nodes: int | None = None,
    ) -> Searched:
        """Sequences of ``v`` worth more than ``threshold``, best first.

        ``best=k`` finds the best sequence and up to ``k - 1`` runners-up among those that
        carry no route of value <= 0 (a longer sequence with such a route is worth no more
        than without it); ``best=None`` enumerates every sequence above the threshold
        (raising :class:`TooManySequences` past ``limit``). ``allowed`` masks routes already taken.
        ``max_nodes`` caps the partial sequences visited (then the result may not be exact).
        """
        run = _Run(
            self,
            v,
            values,
            const=const,
            threshold=threshold,
            best=best,
            allowed=allowed,
            limit=limit,
        )
        return run.go(max_nodes)


class _Run:
    """One branch-and-bound search (state kept off the recursion's arguments)."""

    def __init__(
        self,
        owner: SequenceSearch,
        v: int,
        values: FloatArray,
        *,
        const: float,
        threshold: float,
        best: int | None,
        allowed: np.ndarray | None,
        limit: int | None,
    ) -> None:
        inst = owner.inst
        self.owner, self.v, self.const = owner, v, const
        self.keep, self.limit = best, limit
        self.threshold = threshold
        self.found: list[Found] = []  # a min-heap when keeping the k best
        required = np.zeros(inst.n_routes, dtype=bool)
        required[list(inst.required[v])] = True
        usable = inst.feasible[v].copy()
        if allowed is not None:
            usable &= allowed | required
        mask = usable
        self.singles = np.zeros(0, dtype=np.int64)
        if best is not None:  # the k best: routes worth <= 0 only ever pay off alone
            mask = usable & ((values > 0) | required)
            if not required.any():
                self.singles = np.flatnonzero(usable & ~mask)
        self.values = values
        self.cand = np.flatnonzero(mask)
        self.ok = bool(np.all(usable[required]))
        n = self.cand.size
        self.vals = values[self.cand]
        self.follows = inst.follows[np.ix_(self.cand, self.cand)]
        self.k_max = inst.ctx.params.max_routes_per_sequence
        self.best_from = self._best_from()
        req_local = np.flatnonzero(required[self.cand])
        # next_req[a]: first required position after a (n when none is left)
        nxt = np.full(n + 1, n, dtype=np.int64)
        for pos in req_local[::-1]:
            nxt[: pos + 1] = np.minimum(nxt[: pos + 1], pos)
        self.next_req = nxt  # next_req[a + 1] is the first required position > a
        self.budget = -1
        self._succ: dict[int, np.ndarray] = {}

    def _best_from(self) -> list[FloatArray]:
        """``best_from[k][a]``: the best sum of values of <= k routes starting with route a."""
        out = [np.zeros(self.cand.size), self.vals.copy()]
        for _ in range(2, self.k_max + 1):
            nxt = np.where(self.follows, out[-1][None, :], -math.inf).max(axis=1, initial=-math.inf)
            out.append(self.vals + np.maximum(nxt, 0.0))
        return out

    def go(self, max_nodes: int | None) -> Searched:
        if not self.ok:
            return Searched([], True, -math.inf)
        self.budget = -1 if max_nodes is None else max_nodes
        roots = np.arange(min(int(self.next_req[0]), self.cand.size - 1) + 1)
        exact = True
        try:
            self._singles()
            self._expand(roots, 0.0, ())
        except _OutOfNodes:
            exact = False
        found = sorted(self.found, reverse=True)
        if exact:
            return Searched(found, True, found[0].value if found else -math.inf)
        tops = [*self.best_from[self.k_max][roots].tolist(), *self.values[self.singles].tolist()]
        upper = max(tops) + self.const + self.owner.sequence_bound(self.v, ())
        return Searched(found, False, max(upper, found[0].value if found else -math.inf))

    def _singles(self) -> None:
        """One-route sequences of routes worth <= 0 (the sequence terms may still pay)."""
        if self.singles.size == 0:
            return
        extra = self.const + self.owner.sequence_bound(self.v, ())
        for r in self.singles[self.values[self.singles] + extra > self.threshold].tolist():
            seq = (int(r),)
            if self.owner.accepts(self.v, seq):
                worth = float(self.values[r]) + self.const + self.owner.sequence_value(self.v, seq)
                if worth > self.threshold:
                    self._record(worth, seq)

    def _record(self, value: float, seq: tuple[int, ...]) -> None:
        item = Found(value, seq)
        if self.keep is None:
            self.found.append(item)
            if self.limit is not None and len(self.found) > self.limit:
                raise TooManySequences
            return
        if len(self.found) < self.keep:
            heapq.heappush(self.found, item)
        else:
            heapq.heappushpop(self.found, item)
        if len(self.found) == self.keep:
            self.threshold = max(self.threshold, self.found[0].value)

    def _expand(self, children: np.ndarray, total: float, seq: tuple[int, ...]) -> None:
        owner, v = self.owner, self.v
        if children.size == 0:
            return
        room = self.k_max - len(seq)
        extra = self.const + owner.sequence_bound(v, seq)
        bounds = total + self.best_from[room][children] + extra
        order = np.argsort(-bounds, kind="stable")
        for b, bound in zip(children[order].tolist(), bounds[order].tolist(), strict=True):
            if bound <= self.threshold:
                break
            child = (*seq, int(self.cand[b]))
            owner.nodes += 1
            if self.budget == 0:
                raise _OutOfNodes
            self.budget -= 1
            if not owner.accepts(v, child):
                continue
            self._visit(b, total + float(self.vals[b]), child)

    def _visit(self, a: int, total: float, seq: tuple[int, ...]) -> None:
        n = self.cand.size
        stop_here = self.next_req[a + 1] == n
        if stop_here:
            value = total + self.const + self.owner.sequence_value(self.v, seq)
            if value > self.threshold:
                self._record(value, seq)
        if len(seq) >= self.k_max:
            return
        children = self._succ.get(a)
        if children is None:
            last = int(min(self.next_req[a + 1], n - 1))
            window = self.follows[a, a + 1 : last + 1]
            children = self._succ[a] = np.flatnonzero(window) + a + 1
        self._expand(children, total, seq)
