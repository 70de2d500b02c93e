"""Generate sequences, solve the seed MIP over them, prove optimality, all under a deadline.

``optimise`` runs column generation (:mod:`allocation.colgen`) until ``pricing_deadline``,
solves the seed MIP (:mod:`allocation.model`) through the solver chain with the time left,
and, when the bound still exceeds the MIP's objective, pools every sequence that could
improve it and solves again. The greedy answer it is given is the floor: the MIP result is
never worse (a MIP stopped early below it gives way to it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from allocation.colgen import enumerate_above, must_take, price
from allocation.model import Pool, seed_mip
from allocation.report import Outcome
from allocation.result import AllocationStatus
from allocation.search import Seq, SequenceSearch
from solvers import SolveOptions, SolverChain, SolverError, SolveStatus

MIN_MIP_S = 0.5  # the MIP always gets at least this long


@dataclass(frozen=True)
class _Mip:
    chosen: tuple[tuple[int, Seq], ...]
    objective: float
    bound: float  # the MIP's own bound (over the pool)
    solver: str
    proven: bool


def _solve(search: SequenceSearch, pool: Pool, chain: SolverChain, deadline: float) -> _Mip:
    inst = search.inst
    params = inst.ctx.params
    must = must_take(search)
    mip = seed_mip(pool, inst.n_routes, inst.n_vehicles, must, inst.covered_route_weight)
    left = max(deadline - time.perf_counter(), MIN_MIP_S)
    sol = chain.solve(mip.model, SolveOptions(time_limit_s=left, mip_rel_gap=params.mip_rel_gap))
    if not sol.status.has_solution:
        raise SolverError(f"no allocation ({sol.status.value})", solver=sol.solver)
    z = float(sol.objective)
    chosen = tuple((pool.vehicles[i], pool.routes[i]) for i in mip.chosen(sol.x))
    proven = sol.status is SolveStatus.OPTIMAL
    return _Mip(chosen, z, z + abs(z) * sol.mip_gap, sol.solver, proven)


def optimise(
    search: SequenceSearch,
    pool: Pool,
    chain: SolverChain,
    *,
    deadline: float,
    pricing_deadline: float,
    greedy: Outcome,
    max_enumerated: int,
) -> Outcome:
    """The best allocation found by the deadline, with its bound and status."""
    params = search.inst.ctx.params
    greedy_value = sum(search.column_value(v, s) for v, s in greedy.chosen)
    pricing = price(
        search,
        pool,
        chain,
        deadline=pricing_deadline,
        hard_deadline=deadline,
        tolerance=params.mip_rel_gap * abs(greedy_value) / 2,
    )
    bound = min(greedy.bound, pricing.bound)
    try:
        mip = _solve(search, pool, chain, deadline)
    except SolverError as exc:
        return replace(greedy, bound=bound, sequences=len(pool), fallback_reason=str(exc))
    tolerance = max(params.mip_rel_gap * abs(mip.objective), 1e-6)
    if (
        bound - mip.objective > tolerance
        and time.perf_counter() < deadline
        and enumerate_above(
            search,
            pool,
            pricing.prices,
            mip.objective,
            limit=max_enumerated,
            deadline=deadline - MIN_MIP_S,
        )
    ):
        mip = _solve(search, pool, chain, deadline)
        if mip.proven:  # every sequence of a better allocation is in the pool now
            bound = min(bound, mip.bound)
    if mip.objective < greedy_value - 1e-9:
        reason = f"{mip.solver} stopped below the greedy"
        return replace(greedy, bound=bound, sequences=len(pool), fallback_reason=reason)
    optimal = bound - mip.objective <= tolerance + 1e-9  # the bound holds for every allocation
    status = AllocationStatus.OPTIMAL if optimal else AllocationStatus.FEASIBLE
    return Outcome(mip.chosen, status, mip.solver, bound, len(pool))
