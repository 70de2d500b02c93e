"""Reference answers by brute force: every feasible sequence listed, the seed MIP solved."""

from __future__ import annotations

from itertools import combinations

from allocation import AllocateOptions, AllocationResult, DepotDay, Trigger
from allocation.allocator import prepare
from allocation.model import Pool, seed_mip
from allocation.search import SequenceSearch
from solvers import HighsSolver, SolveOptions, SolveStatus


def all_sequences(search: SequenceSearch) -> Pool:
    """Every valid (vehicle, sequence), listed exhaustively."""
    inst = search.inst
    pool = Pool()
    k_max = inst.ctx.params.max_routes_per_sequence
    for v in range(inst.n_vehicles):
        for k in range(1, k_max + 1):
            for seq in combinations(range(inst.n_routes), k):
                if search.is_column(v, seq):
                    pool.add(v, seq, search.column_value(v, seq))
    return pool


def optimum(
    day: DepotDay,
    trigger: Trigger = Trigger.INITIAL,
    previous: AllocationResult | None = None,
) -> tuple[float, int]:
    """The seed model's optimum over every sequence, and the number of sequences."""
    _, inst, _ = prepare(day, trigger, previous, AllocateOptions())
    search = SequenceSearch(inst)
    pool = all_sequences(search)
    must = [bool(r) for r in inst.required]
    mip = seed_mip(pool, inst.n_routes, inst.n_vehicles, must, inst.covered_route_weight)
    sol = HighsSolver().solve(mip.model, SolveOptions(mip_rel_gap=0.0))
    assert sol.status is SolveStatus.OPTIMAL
    return sol.objective, len(pool)
