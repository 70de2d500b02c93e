"""The greedy fallback: best sequence first, never reusing a vehicle or a route.

This is the seed's greedy (sort every sequence by its worth, best first; take a sequence when
its vehicle and routes are all still free) without listing every sequence: each vehicle's
best sequence over the free routes sits in a heap; when the top one has lost a route to an
earlier pick, that vehicle's best is searched again over what is left and pushed back. Worth
only falls as routes are taken, so the first intact sequence popped is the best free one,
exactly the pick of the sorted list.

A sequence's worth is its objective coefficient in the model, ``W |s| + scale * score``:
routes covered first, then score (the seed sorts by "cost"; with ``W`` inside, the greedy
ranks sequences the way the model values them). Each search visits at most ``NODE_BUDGET``
partial sequences: almost every search finishes well within it; when one does not, the best
sequence seen so far stands in for the vehicle's best.
"""

from __future__ import annotations

import heapq

import numpy as np

from allocation.search import Seq, SequenceSearch

NODE_BUDGET = 100


def greedy(
    search: SequenceSearch,
) -> tuple[list[tuple[int, Seq]], list[tuple[int, Seq]], float]:
    """The greedy's picks (vehicle, sequence), every sequence it looked at, and a bound.

    The bound, the sum over vehicles of the best worth of any of its sequences (or an upper
    bound on it when a search ran out of nodes), caps the objective of any allocation: each
    vehicle drives at most one sequence.
    """
    inst = search.inst
    seen: list[tuple[int, Seq]] = []
    heap: list[tuple[float, int, Seq]] = []
    bound = 0.0
    for v in range(inst.n_vehicles):
        result = search.search(v, inst.route_value[v], max_nodes=NODE_BUDGET)
        best = result.best
        if best is not None:
            bound += max(result.upper, 0.0)
            seen.append((v, best.routes))
            heapq.heappush(heap, (-best.value, v, best.routes))
    free = np.ones(inst.n_routes, dtype=bool)
    picked: list[tuple[int, Seq]] = []
    used: set[int] = set()
    while heap:
        _, v, seq = heapq.heappop(heap)
        if v in used:
            continue
        if bool(np.all(free[list(seq)])):
            picked.append((v, seq))
            free[list(seq)] = False
            used.add(v)
            continue
        best = search.search(v, inst.route_value[v], allowed=free, max_nodes=NODE_BUDGET).best
        if best is not None:
            seen.append((v, best.routes))
            heapq.heappush(heap, (-best.value, v, best.routes))
    for v, req in enumerate(inst.required):
        if req and v not in used:  # kept routes are exclusive: the vehicle keeps at least those
            picked.append((v, req))
    return picked, seen, bound
