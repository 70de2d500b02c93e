"""Invariants of whole dispatches over random fleets, gateway behaviours and strategies."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch import (
    BalancedFallback,
    Candidates,
    DispatchResult,
    EqualDispatcher,
    LPDispatcher,
    NoopFallback,
    ProbabilisticFallback,
    SimpleVehicleFilter,
    SmartDispatcher,
)
from dispatch.commitments import CommitmentLedger
from fleet import Vehicle
from tests.support import rig, signal, vehicle
from v2g.sim import Behaviour

DISPATCHERS = {"equal": EqualDispatcher, "smart": SmartDispatcher, "lp": LPDispatcher}
FALLBACKS = {
    "noop": NoopFallback,
    "balanced": BalancedFallback,
    "probabilistic": ProbabilisticFallback,
}

fleet_st = st.lists(
    st.tuples(
        st.floats(0, 100),  # soc
        st.floats(0, 22),  # discharge kW
        st.floats(0.0, 1.0),  # availability
        st.booleans(),  # online
        st.booleans(),  # plugged
    ),
    min_size=1,
    max_size=25,
)
behaviour_st = st.builds(
    Behaviour,
    accept=st.floats(0.1, 1),
    partial=st.floats(0, 1),
    reject=st.floats(0, 1),
    silent=st.floats(0, 0.5),
    duplicate=st.floats(0, 1),
)


def _vehicles(spec: list[tuple[float, float, float, bool, bool]]) -> list[Vehicle]:
    return [
        vehicle(
            f"v{i}",
            soc_pct=soc,
            max_discharge_kw=kw,
            availability=av,
            online=online,
            plugged_in=plugged,
        )
        for i, (soc, kw, av, online, plugged) in enumerate(spec)
    ]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    spec=fleet_st,
    behaviour=behaviour_st,
    power=st.floats(1, 400),
    dispatcher=st.sampled_from(sorted(DISPATCHERS)),
    fallback=st.sampled_from(sorted(FALLBACKS)),
    seed=st.integers(0, 10_000),
)
def test_dispatch_invariants(
    spec: list[tuple[float, float, float, bool, bool]],
    behaviour: Behaviour,
    power: float,
    dispatcher: str,
    fallback: str,
    seed: int,
) -> None:
    """Whatever the fleet does: no vehicle is ordered beyond its effective capacity, only
    eligible vehicles get orders, the first round never exceeds the signal, follow-ups go only
    to vehicles that had not failed, and acknowledged power is counted once."""
    vs = _vehicles(spec)
    sig = signal(power_kw=power)
    eligible = SimpleVehicleFilter().select(sig, vs, CommitmentLedger()).eligible
    capacity = dict(
        zip(
            (v.vehicle_id for v in eligible),
            Candidates.build(sig, eligible).capacity_kw.tolist(),
            strict=True,
        )
    )
    fb = FALLBACKS[fallback]()
    r = rig(
        vs,
        behaviour,
        seed=seed,
        ack_timeout_s=0.02,
        dispatcher=DISPATCHERS[dispatcher](),
        fallback=fb,
    )
    result: DispatchResult = asyncio.run(r.manager.dispatch(sig))
    tol = 1e-6 * max(1.0, power)

    per_vehicle: dict[str, float] = defaultdict(float)
    for order in r.fleet.orders:
        assert order.vehicle_id in capacity, "order to a filtered-out vehicle"
        per_vehicle[order.vehicle_id] += order.power_kw
    for vid, kw in per_vehicle.items():
        assert kw <= capacity[vid] + tol, f"{vid} ordered {kw} > capacity {capacity[vid]}"

    assert result.allocated_kw <= power + tol
    first_round = sum(o.power_kw for o in r.fleet.orders if o.round == 0)
    assert first_round <= power + tol

    for o in result.vehicles:
        assert o.acknowledged_kw <= o.ordered_kw + tol
    assert abs(sum(o.acknowledged_kw for o in result.vehicles) - result.acknowledged_kw) <= tol
    overallocation = getattr(fb, "max_overallocation", 0.0)
    assert result.acknowledged_kw <= power * (1 + overallocation) + tol

    by_vehicle = defaultdict(list)
    for order in r.fleet.orders:
        by_vehicle[order.vehicle_id].append(order)
    for orders in by_vehicle.values():
        for earlier in sorted(orders, key=lambda o: o.round)[:-1]:
            answers = r.fleet.planned[earlier.order_id]
            assert answers, "follow-up sent to a vehicle that stayed silent"
            ack = answers[0][1]
            assert ack.status.value == "accepted", "follow-up sent to a vehicle that refused"
            assert ack.accepted_kw == earlier.power_kw, "follow-up sent after a partial answer"
