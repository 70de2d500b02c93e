"""Dispatchers: Equal, Smart and LP split a signal within every vehicle's capacity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch import (
    Candidates,
    EqualDispatcher,
    GroupLimit,
    LPDispatcher,
    ParticipationTracker,
    SmartDispatcher,
    Weights,
    WeightTable,
)
from dispatch.dispatchers import proportional_fill
from fleet import Direction, Vehicle
from solvers import LinearModel, Solution, SolveOptions, SolverFailedError, SolveStatus
from tests.support import T0, signal, vehicle

TOL = 1e-6

vehicles_st = st.lists(
    st.builds(
        lambda i, soc, dis, ch, av, deg: vehicle(
            f"v{i}",
            soc_pct=soc,
            max_discharge_kw=dis,
            max_charge_kw=ch,
            availability=av,
            degradation=deg,
        ),
        st.just(0),
        st.floats(0, 100),
        st.floats(0, 50),
        st.floats(0, 50),
        st.floats(0, 1),
        st.floats(0, 1),
    ),
    min_size=0,
    max_size=40,
).map(lambda vs: [v.model_copy(update={"vehicle_id": f"v{i}"}) for i, v in enumerate(vs)])


def _candidates(vs: list[Vehicle], power_kw: float, direction: str = "discharge") -> Candidates:
    return Candidates.build(signal(power_kw=power_kw, direction=direction), vs)


def _check_invariants(cand: Candidates, x: np.ndarray, power_kw: float) -> None:
    assert x.shape == (len(cand),)
    assert np.all(x >= -TOL)
    assert np.all(x <= cand.capacity_kw + TOL), "a vehicle got more than its effective capacity"
    assert x.sum() <= power_kw + TOL, "allocation exceeds the signal"


@settings(max_examples=150, deadline=None)
@given(
    vs=vehicles_st,
    power=st.floats(0.1, 2000),
    direction=st.sampled_from(["charge", "discharge"]),
    rounds=st.integers(1, 6),
)
def test_equal_and_smart_respect_capacity_and_signal_and_allocate_all_they_can(
    vs: list[Vehicle], power: float, direction: str, rounds: int
) -> None:
    """Equal and Smart never exceed a capacity or the signal, and allocate min(P, sum cap)."""
    cand = _candidates(vs, power, direction)
    sig = signal(power_kw=power, direction=direction)
    for disp in (EqualDispatcher(max_rounds=rounds), SmartDispatcher(max_rounds=rounds)):
        x = disp.allocate(sig, cand).power_kw
        _check_invariants(cand, x, power)
        assert x.sum() == pytest.approx(min(power, cand.capacity_kw.sum()), abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(vs=vehicles_st, power=st.floats(0.1, 2000), type_=st.sampled_from(["peak_shaving", "x"]))
def test_lp_objective_is_never_below_smart_on_the_same_weights(
    vs: list[Vehicle], power: float, type_: str
) -> None:
    """The LP dispatcher's weighted score is at least the Smart dispatcher's."""
    cand = _candidates(vs, power)
    sig = signal(power_kw=power, type_=type_)
    table = WeightTable()
    smart = SmartDispatcher(table).allocate(sig, cand)
    lp = LPDispatcher(table).allocate(sig, cand)
    _check_invariants(cand, lp.power_kw, power)
    scores = cand.scores(table.get(type_))
    assert scores @ lp.power_kw >= scores @ smart.power_kw - 1e-6 * max(1.0, power)


def test_equal_split_caps_and_redistributes() -> None:
    """A capped vehicle's share goes to the others."""
    vs = [vehicle("a", max_discharge_kw=2.0), vehicle("b"), vehicle("c")]
    cand = _candidates(vs, 20.0)
    alloc = EqualDispatcher().allocate(signal(power_kw=20.0), cand)
    assert alloc.power_kw == pytest.approx([2.0, 9.0, 9.0])
    assert alloc.rounds == 2


def test_proportional_fill_uses_the_sweep_when_rounds_run_out() -> None:
    """With one round only, leftovers still go out, best weight first, within caps."""
    x, rounds = proportional_fill(
        10.0, np.array([1.0, 1.0, 2.0]), np.array([1.0, 10.0, 3.0]), max_rounds=1
    )
    assert rounds == 1
    assert x.sum() == pytest.approx(10.0)
    assert np.all(x <= [1.0, 10.0, 3.0])


def test_smart_prefers_better_scored_vehicles_and_penalises_participation() -> None:
    """Higher SoC gets more discharge power; a heavily used vehicle gets less."""
    vs = [vehicle("full", soc_pct=95.0), vehicle("low", soc_pct=40.0)]
    sig = signal(power_kw=10.0, type_="peak_shaving")
    x = SmartDispatcher().allocate(sig, _candidates(vs, 10.0)).power_kw
    assert x[0] > x[1] > 0
    tracker = ParticipationTracker()
    tracker.set("10", "full", 20.0, T0)
    cand = Candidates.build(sig, vs, tracker)
    weights = WeightTable({"peak_shaving": Weights(0, 0, 0, 0, 1)})
    y = SmartDispatcher(weights).allocate(sig, cand).power_kw
    assert y[0] < y[1]


def test_lp_min_power_gives_zero_or_at_least_the_minimum() -> None:
    """With a minimum of 4 kW, every vehicle gets 0 or >= 4 kW (MIP)."""
    vs = [vehicle(f"v{i}", soc_pct=50 + i) for i in range(6)]
    cand = _candidates(vs, 13.0)
    alloc = LPDispatcher(min_power_kw=4.0).allocate(signal(power_kw=13.0), cand)
    x = alloc.power_kw
    assert np.all((x < TOL) | (x >= 4.0 - TOL))
    assert x.sum() == pytest.approx(13.0)
    assert alloc.solver == "highs"


def test_lp_vehicle_that_cannot_reach_its_minimum_gets_nothing() -> None:
    """A vehicle whose capacity is below its own minimum is left out."""
    vs = [vehicle("small", max_discharge_kw=2.0, soc_pct=99.0), vehicle("big", soc_pct=40.0)]
    cand = _candidates(vs, 5.0)
    x = LPDispatcher(min_power_by_vehicle={"small": 3.0}).allocate(signal(power_kw=5.0), cand)
    assert x.power_kw == pytest.approx([0.0, 5.0])


def test_lp_group_limit_caps_a_feeder() -> None:
    """Vehicles on a 12 kW feeder share at most 12 kW; the rest comes from elsewhere."""
    vs = [vehicle(f"f{i}", soc_pct=95.0) for i in range(3)] + [vehicle("o", soc_pct=40.0)]
    cand = _candidates(vs, 20.0)
    feeder = GroupLimit("feeder-a", frozenset({"f0", "f1", "f2"}), 12.0)
    x = LPDispatcher(group_limits=[feeder]).allocate(signal(power_kw=20.0), cand).power_kw
    assert x[:3].sum() == pytest.approx(12.0)
    assert x.sum() == pytest.approx(20.0)


class _FailingSolver:
    name = "failing"

    def available(self) -> bool:
        return True

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        raise SolverFailedError("boom", solver=self.name, status="error")


class _TimeoutSolver(_FailingSolver):
    name = "timeout"

    def solve(self, model: LinearModel, options: SolveOptions) -> Solution:
        return Solution(SolveStatus.NO_SOLUTION, self.name, message="time limit")


@pytest.mark.parametrize("solver", [_FailingSolver(), _TimeoutSolver()])
def test_lp_falls_back_to_greedy_when_the_solver_fails(solver: _FailingSolver) -> None:
    """A solver error or a timeout without incumbent yields the greedy allocation, flagged."""
    vs = [vehicle(f"f{i}", soc_pct=60 + 10 * i) for i in range(3)]
    feeder = GroupLimit("g", frozenset({"f2", "f1"}), 12.0)
    cand = _candidates(vs, 25.0)
    alloc = LPDispatcher(solver=solver, group_limits=[feeder], min_power_kw=3.0).allocate(
        signal(power_kw=25.0), cand
    )
    assert alloc.solver == "greedy"
    assert alloc.degraded is not None
    x = alloc.power_kw
    _check_invariants(cand, x, 25.0)
    assert x[1:].sum() <= 12.0 + TOL
    assert np.all((x < TOL) | (x >= 3.0 - TOL))
    assert x[2] == pytest.approx(10.0)  # best score first


def test_dispatchers_handle_an_empty_candidate_set() -> None:
    """No candidates: every dispatcher returns an empty allocation."""
    cand = _candidates([], 10.0)
    for disp in (EqualDispatcher(), SmartDispatcher(), LPDispatcher()):
        assert disp.allocate(signal(), cand).power_kw.shape == (0,)


def test_candidate_features_are_normalised() -> None:
    """Every feature lies in [0, 1] and the charge SoC feature favours emptier batteries."""
    vs = [vehicle("a", soc_pct=35.0), vehicle("b", soc_pct=90.0)]
    cand = Candidates.build(signal(direction="charge"), vs)
    assert np.all((cand.features >= 0) & (cand.features <= 1))
    soc = cand.feature("soc")
    assert soc[0] > soc[1]
    assert cand.capacity_kw[0] == pytest.approx(vs[0].effective_capacity(Direction.CHARGE, 0.5))
