"""Compact sequence generation: column generation on the LP relaxation, then a proof.

Listing every feasible sequence explodes (a 200-route day has some 10^8 chains of up to four
routes). Instead:

1. **Price.** Solve the dual of the pool's LP relaxation (route prices ``mu``, vehicle prices
   ``pi``); for every vehicle search the sequences of positive reduced worth
   ``c_s - sum_{r in s} mu_r - pi_v`` (:mod:`allocation.search`) and pool the best.
   Prices are smoothed towards the prices of the best bound so far (Wentges), which damps
   the oscillation of degenerate set-packing duals; the first such centre is
   ``mu_r = max_v c_{v,r}`` (every route priced at its best share), whose bound already says
   "every route feasible for some vehicle". Each round gives the Lagrangian bound
   ``sum mu + sum pi + sum_v max(0, best reduced worth of v)`` on any allocation; generation
   stops when the pool's LP optimum meets that bound (or time is up).
2. **Prove.** Solve the MIP over the pool (objective ``z``). At the prices of the best bound
   ``L``, an allocation worth more than ``z`` can only use a sequence of vehicle ``v`` whose
   reduced worth exceeds ``z - L + m_v`` (``m_v``: that vehicle's best reduced worth). When
   ``L > z`` those are enumerated (all or none, up to a limit) and pooled and the MIP solved
   again: its optimum is then the optimum over every sequence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import structlog

from allocation.model import Pool, dual_model
from allocation.search import SequenceSearch, TooManySequences
from solvers import SolveOptions, SolverChain, SolverError, SolveStatus
from solvers.model import FloatArray

log = structlog.get_logger(__name__)

EPS = 1e-6  # reduced worth below this is "not positive"
PER_VEHICLE = 1  # columns pooled per vehicle and pricing round
SMOOTHING = 0.7  # weight of the best prices in the separation point
NODE_BUDGET = 2000  # per search in ordinary rounds; the closing round searches exhaustively


@dataclass(frozen=True)
class Prices:
    """Dual prices and the bound they give: ``sum mu + sum pi + sum max(0, m)``."""

    route: FloatArray  # mu
    vehicle: FloatArray  # pi
    best: FloatArray  # m_v: best reduced worth of each vehicle's sequences (an upper bound)
    bound: float


@dataclass(frozen=True)
class Pricing:
    """Where column generation stopped."""

    bound: float  # upper bound on any allocation's objective
    converged: bool  # the LP optimum over all sequences is known (within tolerance)
    prices: Prices  # the prices of the best bound
    lp_objective: float
    rounds: int


def must_take(search: SequenceSearch) -> list[bool]:
    """Vehicles that must take a sequence (they have kept routes)."""
    return [bool(req) for req in search.inst.required]


def _duals(
    chain: SolverChain, search: SequenceSearch, pool: Pool, time_limit_s: float
) -> tuple[FloatArray, FloatArray, float]:
    inst = search.inst
    model = dual_model(pool, inst.n_routes, inst.n_vehicles, must_take(search))
    sol = chain.solve(model, SolveOptions(time_limit_s=max(time_limit_s, 0.5)))
    if sol.status is not SolveStatus.OPTIMAL:
        raise SolverError(f"LP relaxation not solved ({sol.status.value})", solver=sol.solver)
    return sol.x[: inst.n_routes], sol.x[inst.n_routes :], float(sol.objective)


def _search_all(
    search: SequenceSearch,
    mu: FloatArray,
    pi: FloatArray,
    max_nodes: int | None,
) -> tuple[Prices, list[tuple[int, tuple[int, ...]]], bool]:
    """Price every vehicle at (mu, pi): the bound, the sequences found, and if all exact."""
    inst = search.inst
    best = np.zeros(inst.n_vehicles)
    found: list[tuple[int, tuple[int, ...]]] = []
    exact = True
    for v in range(inst.n_vehicles):
        res = search.search(
            v,
            inst.route_value[v] - mu,
            -float(pi[v]),
            threshold=EPS,
            best=PER_VEHICLE,
            max_nodes=max_nodes,
        )
        exact &= res.exact
        best[v] = max(res.upper, EPS)
        found += [(v, f.routes) for f in res.found]
    bound = float(mu.sum() + pi.sum() + best.sum())
    return Prices(mu, pi, best, bound), found, exact


def _pool_positive(
    search: SequenceSearch,
    pool: Pool,
    found: list[tuple[int, tuple[int, ...]]],
    mu: FloatArray,
    pi: FloatArray,
) -> int:
    """Pool the sequences of positive reduced worth at (mu, pi); how many were new."""
    added = 0
    for v, seq in found:
        value = search.column_value(v, seq)
        if value - float(mu[list(seq)].sum()) - float(pi[v]) > EPS:
            added += pool.add(v, seq, value)
    return added


def _round(
    search: SequenceSearch, pool: Pool, center: Prices, mu: FloatArray, pi: FloatArray
) -> tuple[Prices, int]:
    """One pricing round at the LP's prices (mu, pi): the new centre and columns added.

    Search at the smoothed point first; if it yields no column that prices out at (mu, pi),
    search at (mu, pi); if the budgeted search there was not exhaustive, search exhaustively.
    """
    smooth = (
        SMOOTHING * center.route + (1 - SMOOTHING) * mu,
        SMOOTHING * center.vehicle + (1 - SMOOTHING) * pi,
    )
    for at_mu, at_pi, budget in ((*smooth, NODE_BUDGET), (mu, pi, NODE_BUDGET), (mu, pi, None)):
        prices, found, exact = _search_all(search, at_mu, at_pi, budget)
        if prices.bound < center.bound:
            center = prices
        added = _pool_positive(search, pool, found, mu, pi)
        if added or (exact and at_mu is mu):
            return center, added
    return center, 0


def price(
    search: SequenceSearch,
    pool: Pool,
    chain: SolverChain,
    *,
    deadline: float,
    hard_deadline: float,
    tolerance: float,
) -> Pricing:
    """Grow the pool until the LP relaxation over all sequences is solved or time is up.

    No round starts after ``deadline``; an LP solve may run until ``hard_deadline``. When an
    LP fails after the first round, generation stops with what it has.
    """
    inst = search.inst
    mu0 = np.where(inst.feasible, inst.route_value, 0.0).max(axis=0, initial=0.0)
    center, _, _ = _search_all(search, mu0, np.zeros(inst.n_vehicles), NODE_BUDGET)
    rounds, lp = 0, -np.inf
    while True:
        if rounds and time.perf_counter() >= deadline:
            return Pricing(center.bound, False, center, lp, rounds)
        try:
            mu, pi, lp = _duals(chain, search, pool, hard_deadline - time.perf_counter())
        except SolverError as exc:
            if not rounds:
                raise
            log.warning("pricing_stopped", reason=str(exc), rounds=rounds)
            return Pricing(center.bound, False, center, lp, rounds)
        rounds += 1
        if center.bound - lp <= tolerance:
            return Pricing(center.bound, True, center, lp, rounds)
        center, added = _round(search, pool, center, mu, pi)
        log.debug("pricing_round", round=rounds, lp=lp, bound=center.bound, added=added)
        if not added:
            return Pricing(min(center.bound, lp + inst.n_vehicles * EPS), True, center, lp, rounds)


def enumerate_above(
    search: SequenceSearch,
    pool: Pool,
    prices: Prices,
    objective: float,
    *,
    limit: int,
    deadline: float,
) -> bool:
    """Pool every sequence that could be part of an allocation worth more than ``objective``.

    All or nothing: when there are more than ``limit`` of them, or the deadline passes, the
    pool is left as it was and the answer is False (nothing is proven then).
    """
    inst = search.inst
    found: list[tuple[int, tuple[int, ...]]] = []
    for v in range(inst.n_vehicles):
        if time.perf_counter() >= deadline:
            return False
        floor = objective - prices.bound + float(prices.best[v]) - EPS
        try:
            res = search.search(
                v,
                inst.route_value[v] - prices.route,
                -float(prices.vehicle[v]),
                threshold=floor,
                best=None,
                limit=limit - len(found),
            )
        except TooManySequences:
            return False
        found += [(v, f.routes) for f in res.found]
    for v, seq in found:
        pool.add(v, seq, search.column_value(v, seq))
    return True
