"""Constraints explain themselves, all are hereditary, and adding one is one class."""

from __future__ import annotations

from itertools import combinations

import hypothesis.strategies as st
from hypothesis import given, settings

from allocation import (
    DEFAULT_CONSTRAINTS,
    AllocateOptions,
    AllocationParameters,
    Context,
    Route,
    RouteConstraint,
    Vehicle,
    allocate,
    synthetic_day,
)
from allocation.constraints import (
    AvailabilityWindow,
    EnergyFeasibility,
    KeptAssignment,
    MaxDrivingHours,
    MaxRoutes,
    NoOverlap,
    VehicleCapability,
    rejections,
)
from allocation.energy import simulate
from tests.allocation.builders import T0, at, route, vehicle


def ctx(**params: float) -> Context:
    """A context at T0 with these parameters."""
    p = AllocationParameters(**params)
    return Context(p, T0, at(p.window_h))


def test_no_overlap_requires_the_turnaround() -> None:
    """A route may follow another only a turnaround after it returns."""
    c = ctx(turnaround_min=15)
    a, b, late = route("a", 1, 2), route("b", 2.2, 3), route("c", 2.25, 3)
    rejection = NoOverlap().check(c, vehicle(), [a, b])
    assert rejection is not None
    assert rejection.route_ids == ("a", "b")
    assert "15 min turnaround" in rejection.detail
    assert NoOverlap().check(c, vehicle(), [a, late]) is None


def test_vehicle_type_and_capabilities() -> None:
    """Required type and every required capability must be the vehicle's."""
    c = ctx()
    cold = route("r", 1, 2, vehicle_type="van", required_capabilities=frozenset({"refrigerated"}))
    assert (
        VehicleCapability().check(c, vehicle(capabilities=frozenset({"refrigerated"})), [cold])
        is None
    )
    rejection = VehicleCapability().check(c, vehicle(), [cold])
    assert rejection is not None
    assert rejection.detail == "needs refrigerated"
    truck = vehicle(vehicle_type="truck", capabilities=frozenset({"refrigerated"}))
    assert VehicleCapability().check(c, truck, [cold]) is not None


def test_availability_window_contains_the_route() -> None:
    """A route before available_from or past available_until is rejected."""
    c = ctx()
    v = vehicle(available_from=at(2), available_until=at(8))
    assert AvailabilityWindow().check(c, v, [route("ok", 2, 8)]) is None
    assert AvailabilityWindow().check(c, v, [route("early", 1, 3)]) is not None
    assert AvailabilityWindow().check(c, v, [route("late", 7, 9)]) is not None


def test_limits_on_routes_and_hours() -> None:
    """At most max_routes_per_sequence routes and max_driving_h hours."""
    c = ctx(max_routes_per_sequence=2, max_driving_h=5)
    three = [route("a", 1, 2), route("b", 3, 4), route("c", 5, 6)]
    assert MaxRoutes().check(c, vehicle(), three[:2]) is None
    assert MaxRoutes().check(c, vehicle(), three) is not None
    assert MaxDrivingHours().check(c, vehicle(), [route("a", 1, 4), route("b", 5, 7)]) is None
    assert MaxDrivingHours().check(c, vehicle(), [route("a", 1, 4), route("b", 5, 8)]) is not None


def test_energy_names_the_route_that_breaks_the_reserve() -> None:
    """The first return below the reserve is named, with the energy left."""
    c = ctx(reserve_soc_pct=10)
    v = vehicle(soc_pct=50, charge_rate_kw=0)  # 30 kWh, reserve 6 kWh
    rejection = EnergyFeasibility().check(
        c, v, [route("a", 1, 2, energy_kwh=20), route("b", 3, 4, energy_kwh=5)]
    )
    assert rejection is not None
    assert rejection.route_ids == ("b",)
    assert "below the 6.0 kWh reserve" in rejection.detail


def test_a_started_route_is_a_fact_and_uses_only_its_remaining_energy() -> None:
    """On the road at window start: exempt alone, and half its energy is still ahead."""
    started = route("s", -1, 1, energy_kwh=40)
    c = Context(AllocationParameters(reserve_soc_pct=0), T0, at(18), started={"s": "ev1"})
    v = vehicle(soc_pct=30, charge_rate_kw=0)  # 18 kWh now, 20 kWh still ahead
    assert rejections(DEFAULT_CONSTRAINTS, c, v, [started]) == []
    trace = simulate(v, [started], now=T0, charging_efficiency=0.9)
    assert trace.returns_kwh == (-2.0,)
    assert EnergyFeasibility().check(c, v, [started, route("b", 2, 3, energy_kwh=1)]) is not None


def test_kept_route_rejects_every_other_vehicle() -> None:
    """A route started on one vehicle is refused to the others, saying where it is."""
    c = Context(AllocationParameters(), T0, at(18), started={"r": "a"}, kept={"r": "a"})
    rejection = KeptAssignment().check(c, vehicle("b"), [route("r", -1, 1)])
    assert rejection is not None
    assert rejection.detail == "has started on a"


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), pick=st.integers(0, 10_000))
def test_every_default_constraint_is_hereditary(seed: int, pick: int) -> None:
    """When a sequence passes every constraint, every sub-sequence passes too."""
    d = synthetic_day(10, start=T0, n_vehicles=3, window_h=10, seed=seed)
    c = Context(d.parameters, T0, at(10))
    routes = sorted(d.routes, key=lambda r: r.start)
    for v in d.vehicles:
        combos = [list(s) for k in (2, 3, 4) for s in combinations(routes, k)]
        accepted = [s for s in combos if not rejections(DEFAULT_CONSTRAINTS, c, v, s)]
        for seq in accepted[pick % max(len(accepted), 1) :][:20]:
            for k in range(1, len(seq)):
                for sub in combinations(seq, k):
                    assert rejections(DEFAULT_CONSTRAINTS, c, v, list(sub)) == []


class NoNightDriving(RouteConstraint):
    """Routes must be back by 20:00 (a site rule)."""

    name = "no_night"

    def admits(self, ctx: Context, vehicle: Vehicle, route: Route) -> str | None:
        return None if route.end.hour < 20 else "back after 20:00"


def test_adding_a_constraint_is_one_class_and_one_registration() -> None:
    """A custom constraint takes effect and explains the routes it leaves out."""
    d = synthetic_day(12, start=T0, n_vehicles=5, window_h=18, seed=4)
    plain = allocate(d)
    ruled = allocate(
        d, options=AllocateOptions(constraints=(*DEFAULT_CONSTRAINTS, NoNightDriving()))
    )
    late = {r.route_id for r in d.routes if r.end.hour >= 20}
    assert late
    assert not late & set(ruled.vehicle_of())
    assert late & set(plain.vehicle_of())
    why = {u.route_id: u for u in ruled.unallocated}
    assert all(why[r].rejected_by["no_night"] for r in late)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), turnaround=st.integers(0, 60))
def test_the_array_form_of_no_overlap_agrees_with_the_rule(seed: int, turnaround: int) -> None:
    """NoOverlap's matrix says exactly what its pairwise rule says."""
    d = synthetic_day(25, start=T0, n_vehicles=2, window_h=10, seed=seed)
    c = ctx(turnaround_min=turnaround)
    routes = sorted(d.routes, key=lambda r: r.start)
    fast = NoOverlap().follows_matrix(c, routes)
    slow = super(NoOverlap, NoOverlap()).follows_matrix(c, routes)
    assert (fast == slow).all()
