"""Route energy, multi-route checkpoints, modes, availability and the window rule."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling import InvalidProblemError, Mode, RouteAssignment, build_instance
from scheduling.requirements import checkpoints
from tests.scheduling.builders import at, problem, route, vehicle


def test_route_energy_uses_the_vehicle_efficiency_or_the_fleet_average() -> None:
    """Distance x own efficiency; a vehicle without one uses the fleet's mean efficiency."""
    p = problem(
        [
            vehicle("a", efficiency_kwh_per_km=0.2, soc_pct=0),
            vehicle("b", efficiency_kwh_per_km=0.3, soc_pct=0),
            vehicle("c", efficiency_kwh_per_km=None, soc_pct=0),
        ],
        [
            route("ra", "a", 3, 4, distance_km=100),
            route("rc", "c", 3, 4, distance_km=100),
            route("rb", "b", 3, 4, energy_kwh=7.0),
        ],
    )
    req = {c.route_id: c.required_kwh for c in checkpoints(p)}
    assert req == pytest.approx({"ra": 20.0, "rb": 7.0, "rc": 25.0})


def test_multi_route_checkpoints_are_cumulative_and_net_of_current_energy() -> None:
    """Each departure needs the energy of all routes so far, minus what the battery holds."""
    p = problem(
        [vehicle("a", soc_pct=50)],  # 30 kWh on board
        [route("r1", "a", 1, 2, distance_km=100), route("r2", "a", 3, 3.5, distance_km=100)],
    )
    cps = checkpoints(p)
    assert [c.cumulative_kwh for c in cps] == pytest.approx([20.0, 40.0])
    assert [c.required_kwh for c in cps] == pytest.approx([0.0, 10.0])


def test_reserve_option_adds_energy_kept_in_the_battery() -> None:
    """With reserve_soc_pct the checkpoint also keeps that share of the battery."""
    p = problem(
        [vehicle("a", soc_pct=50)], [route("r1", "a", 1, 2, distance_km=100)], reserve_soc_pct=25
    )
    assert checkpoints(p)[0].required_kwh == pytest.approx(20 + 15 - 30)


def test_post_allocation_mode_uses_the_allocator_assignment() -> None:
    """In post-allocation mode the allocation, not the planned vehicle, decides who drives."""
    base = problem(
        [vehicle("a", soc_pct=0), vehicle("b", soc_pct=0)], [route("r1", "a", 2, 3, energy_kwh=5)]
    )
    independent = checkpoints(base)
    allocated = base.model_copy(
        update={
            "mode": Mode.POST_ALLOCATION,
            "allocations": (RouteAssignment(route_id="r1", vehicle_id="b"),),
        }
    )
    assert [c.vehicle_id for c in independent] == ["a"]
    assert [c.vehicle_id for c in checkpoints(allocated)] == ["b"]


def test_vehicle_is_unavailable_while_driving() -> None:
    """Slots overlapping departure..return are unavailable; the checkpoint counts earlier slots."""
    p = problem([vehicle("a")], [route("r1", "a", 1.25, 2.5, energy_kwh=1)])
    inst = build_instance(p)
    assert inst.available[0].tolist()[:6] == [True, True, False, False, False, True]
    assert inst.cp_slot.tolist() == [2]


def test_window_grows_to_a_departure_needing_energy_and_reports_it() -> None:
    """A departure needing energy past the window grows it, in slots, up to 24 h."""
    p = problem(
        [vehicle("a", soc_pct=0), vehicle("b", soc_pct=0), vehicle("c", soc_pct=100)],
        [
            route("far", "a", 6.25, 7, energy_kwh=5),
            route("too-far", "b", 30, 31, energy_kwh=5),
            route("no-need", "c", 9, 10, energy_kwh=5),
        ],
        window_h=4,
    )
    inst = build_instance(p)
    assert inst.n_slots == 13
    assert inst.window.used_h == 6.5
    assert inst.window.extended_for == ("far",)
    assert inst.window.beyond_horizon == ("too-far",)
    assert "too-far" not in inst.cp_route_id


def test_window_adaptation_can_be_turned_off() -> None:
    """With adapt_window false the window keeps its length and far departures are reported."""
    p = problem([vehicle("a", soc_pct=0)], [route("far", "a", 6, 7, energy_kwh=5)], window_h=4)
    inst = build_instance(p.model_copy(update={"adapt_window": False}))
    assert inst.n_slots == 8
    assert inst.window.beyond_horizon == ("far",)


def test_missing_price_hour_is_covered_by_the_hour_before() -> None:
    """A gap in the price series takes the previous price; a slot with no price is refused."""
    p = problem([vehicle("a")], window_h=4)
    hourly = tuple(pt for i, pt in enumerate(p.prices) if i % 2 == 0 and i != 4)  # hour 2 missing
    inst = build_instance(p.model_copy(update={"prices": hourly}))
    assert np.all(inst.price_eur_per_kwh == 0.2)
    with pytest.raises(InvalidProblemError, match="no price"):
        build_instance(p.model_copy(update={"prices": p.prices[4:]}))


def test_route_without_any_efficiency_is_refused() -> None:
    """Distance-only routes need an efficiency somewhere in the fleet."""
    p = problem([vehicle("a", efficiency_kwh_per_km=None)], [route("r", "a", 1, 2, distance_km=10)])
    with pytest.raises(InvalidProblemError, match="efficiency"):
        build_instance(p)


def test_route_departure_time_order_is_validated() -> None:
    """A route returning before it leaves is refused at the edge."""
    with pytest.raises(ValueError, match="before departure"):
        route("r", "a", 2, 1, energy_kwh=1)
    assert at(0).tzinfo is not None
