"""Sequence search and generation: exact against brute force, compact against enumeration."""

from __future__ import annotations

from itertools import combinations

import hypothesis.strategies as st
import numpy as np
from hypothesis import given, settings

from allocation import AllocateOptions, AllocationParameters, Trigger, allocate, synthetic_day
from allocation.allocator import prepare
from allocation.energy import simulate
from allocation.search import SequenceSearch
from tests.allocation.brute import all_sequences, optimum
from tests.allocation.builders import T0


def _search(seed: int) -> SequenceSearch:
    params = AllocationParameters(window_h=10.0, max_routes_per_sequence=3)
    d = synthetic_day(9, start=T0, n_vehicles=3, window_h=10, seed=seed, parameters=params)
    _, inst, _ = prepare(d, Trigger.INITIAL, None, AllocateOptions())
    return SequenceSearch(inst)


def _brute(search: SequenceSearch, v: int, values: np.ndarray, const: float) -> list[float]:
    inst = search.inst
    worths = []
    for k in range(1, inst.ctx.params.max_routes_per_sequence + 1):
        for seq in combinations(range(inst.n_routes), k):
            if search.is_column(v, seq):
                worth = float(values[list(seq)].sum()) + const + search.sequence_value(v, seq)
                worths.append(worth)
    return sorted(worths, reverse=True)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 1000),
    shift=st.floats(-120.0, 20.0),
    noise=st.integers(0, 2**31),
    const=st.floats(-5.0, 5.0),
)
def test_search_finds_the_best_sequences_and_all_above_a_threshold(
    seed: int, shift: float, noise: int, const: float
) -> None:
    """The best sequence and every sequence above a threshold agree with brute force."""
    search = _search(seed)
    inst = search.inst
    rng = np.random.default_rng(noise)
    for v in range(inst.n_vehicles):
        values = inst.route_value[v] + shift + rng.normal(0, 30, inst.n_routes)
        expected = _brute(search, v, values, const)
        top = search.search(v, values, const, threshold=-1e9, best=3)
        assert top.exact
        assert [f.value for f in top.found[:1]] == expected[:1]
        assert {round(f.value, 9) for f in top.found} <= {round(w, 9) for w in expected}
        floor = expected[len(expected) // 2] if expected else 0.0
        above = search.search(v, values, const, threshold=floor, best=None)
        assert sorted(f.value for f in above.found) == sorted(w for w in expected if w > floor)


def test_memoised_energy_traces_match_a_fresh_simulation() -> None:
    """The run's trace cache gives what simulating from scratch gives."""
    search = _search(3)
    inst = search.inst
    for v, veh in enumerate(inst.vehicles):
        for seq in combinations(range(inst.n_routes), 2):
            routes = [inst.routes[i] for i in seq]
            cached = inst.ctx.traces.trace(veh, routes)
            fresh = simulate(veh, routes, now=T0, charging_efficiency=0.9)
            assert cached.returns_kwh == fresh.returns_kwh, v


def test_generation_stays_compact_where_enumeration_explodes() -> None:
    """Generated sequences are a small share of all feasible ones, at the same optimum."""
    d = synthetic_day(24, start=T0, n_vehicles=10, window_h=12, seed=2)
    result = allocate(d)
    best, listed = optimum(d)
    assert abs(result.objective - best) < 1e-4
    assert result.sequences_generated * 5 < listed


def test_brute_force_lists_only_valid_sequences() -> None:
    """The reference lists exactly the sequences the constraints accept."""
    search = _search(5)
    pool = all_sequences(search)
    assert len(pool) > 0
    assert all(search.is_column(v, s) for v, s in zip(pool.vehicles, pool.routes, strict=True))
