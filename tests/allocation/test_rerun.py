"""Re-runs: started routes stay, frozen ones hold, a cancellation changes only what it must."""

from __future__ import annotations

from datetime import timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from allocation import (
    AllocationParameters,
    AllocationResult,
    AllocationStatus,
    DepotDay,
    InvalidDayError,
    RouteStatus,
    Trigger,
    advance,
    allocate,
    check_allocation,
    synthetic_day,
)
from tests.allocation.builders import T0, at, day, route, vehicle


def checked(d: DepotDay, trigger: Trigger, previous: AllocationResult | None) -> AllocationResult:
    """Allocate a re-run and insist the independent checker accepts it."""
    result = allocate(d, trigger=trigger, previous=previous)
    assert check_allocation(d, result, previous) == []
    return result


def small_day(seed: int) -> DepotDay:
    """A synthetic 10-hour day of 12 routes and 4 vans."""
    params = AllocationParameters(window_h=10.0, max_routes_per_sequence=3)
    return synthetic_day(12, start=T0, n_vehicles=4, window_h=10.0, seed=seed, parameters=params)


def test_a_started_route_stays_with_its_vehicle_even_when_another_would_score_better() -> None:
    """The route on the road keeps the previous allocation's vehicle, not the planned one."""
    d = day(
        [vehicle("a"), vehicle("b")],
        [
            route("r1", 0, 3, planned_vehicle_id="a", status=RouteStatus.STARTED),
            route("r2", 3.5, 5, planned_vehicle_id="b"),
        ],
        start_h=1,
        keep_planned_weight=10.0,
    )
    first = checked(d, Trigger.INITIAL, None)
    assert first.vehicle_of()["r1"] == "a"
    moved = first.model_copy(
        update={
            "assignments": tuple(
                a.model_copy(update={"vehicle_id": "b"}) for a in first.assignments
            )
        }
    )
    again = checked(d, Trigger.ROLLING, moved)  # the previous allocation says b drives r1
    assert again.vehicle_of()["r1"] == "b"
    assert "r1" in next(a.kept_route_ids for a in again.assignments if a.vehicle_id == "b")


def test_a_started_route_without_a_vehicle_is_refused() -> None:
    """A started route must name its vehicle (planned or previous)."""
    d = day([vehicle("a")], [route("r1", 0, 3, status=RouteStatus.STARTED)], start_h=1)
    with pytest.raises(InvalidDayError) as exc:
        allocate(d)
    assert exc.value.route_id == "r1"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), hours=st.floats(0.5, 8.0))
def test_rolling_rerun_never_moves_a_started_route(seed: int, hours: float) -> None:
    """Every route that left under the previous allocation keeps its vehicle."""
    d = small_day(seed)
    first = checked(d, Trigger.INITIAL, None)
    now = T0 + timedelta(hours=round(hours * 12) / 12)
    later = advance(d, first, now)
    again = checked(later, Trigger.ROLLING, first)
    before, after = first.vehicle_of(), again.vehicle_of()
    for r in later.routes:
        if r.status is RouteStatus.STARTED and r.end > now:
            assert after[r.route_id] == before[r.route_id]


def test_frozen_assignment_holds_even_if_the_planner_now_prefers_another_vehicle() -> None:
    """A route starting within the freeze horizon keeps its previous vehicle."""
    routes = [route("r1", 1.5, 3), route("r2", 5, 6)]
    d = day([vehicle("a"), vehicle("b")], routes, start_h=1, freeze_horizon_min=60)
    first = checked(d, Trigger.INITIAL, None)
    owner = first.vehicle_of()["r1"]
    other = "b" if owner == "a" else "a"
    replanned = d.model_copy(
        update={
            "routes": (
                routes[0].model_copy(update={"planned_vehicle_id": other}),
                routes[1].model_copy(update={"planned_vehicle_id": other}),
            )
        }
    )
    again = checked(replanned, Trigger.ROLLING, first)
    assert again.vehicle_of()["r1"] == owner  # frozen: starts within 60 min
    assert again.vehicle_of()["r2"] == other  # beyond the horizon the plan wins


def test_vehicle_unavailable_releases_its_frozen_route_and_reallocates() -> None:
    """A frozen route its vehicle can no longer drive is released, reported and moved."""
    d = day(
        [vehicle("a"), vehicle("b")],
        [route("r1", 1.5, 3, planned_vehicle_id="a"), route("r2", 4, 5, planned_vehicle_id="a")],
        start_h=1,
    )
    first = checked(d, Trigger.INITIAL, None)
    assert first.vehicle_of() == {"r1": "a", "r2": "a"}
    gone = d.model_copy(update={"vehicles": (vehicle("a", available_until=at(1.2)), vehicle("b"))})
    again = checked(gone, Trigger.VEHICLE_UNAVAILABLE, first)
    assert again.vehicle_of() == {"r1": "b", "r2": "b"}
    (released,) = again.released
    assert (released.route_id, released.vehicle_id, released.constraint) == (
        "r1",
        "a",
        "availability",
    )
    assert {(c.route_id, c.before, c.after) for c in again.changes} == {
        ("r1", "a", "b"),
        ("r2", "a", "b"),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), pick=st.integers(0, 1_000))
def test_cancellation_changes_only_what_it_must(seed: int, pick: int) -> None:
    """Cancelling a covered route never loses another route, and unless the freed vehicle
    lets the optimum cover more routes than before, nothing but the cancelled route changes."""
    d = small_day(seed)
    first = checked(d, Trigger.INITIAL, None)
    covered = sorted(first.vehicle_of())
    if not covered:
        return
    gone = covered[pick % len(covered)]
    later = advance(d, first, d.window_start, cancel=[gone])
    again = checked(later, Trigger.CANCELLATION, first)
    assert again.status is AllocationStatus.OPTIMAL
    before, after = first.vehicle_of(), again.vehicle_of()
    assert again.routes_covered >= first.routes_covered - 1
    if again.routes_covered == first.routes_covered - 1:
        assert after == {r: v for r, v in before.items() if r != gone}
        assert [(c.route_id, c.before, c.after) for c in again.changes] == [
            (gone, before[gone], None)
        ]
    assert gone in again.cancelled_route_ids


def test_a_new_route_fills_a_gap_without_moving_anything() -> None:
    """A new route that fits an idle slot is covered; earlier assignments stay."""
    routes = [route("r1", 1, 3), route("r2", 1, 3)]
    d = day([vehicle("a"), vehicle("b")], routes)
    first = checked(d, Trigger.INITIAL, None)
    more = d.model_copy(update={"routes": (*routes, route("r3", 4, 5))})
    again = checked(more, Trigger.NEW_ROUTE, first)
    assert again.routes_covered == 3
    assert {k: v for k, v in again.vehicle_of().items() if k != "r3"} == first.vehicle_of()
    assert [(c.route_id, c.before) for c in again.changes] == [("r3", None)]


def test_initial_trigger_ignores_the_previous_allocation() -> None:
    """An initial run with a previous allocation answers as without it."""
    d = small_day(11)
    first = checked(d, Trigger.INITIAL, None)
    again = checked(d, Trigger.INITIAL, first)
    assert again.objective == pytest.approx(first.objective)
    assert again.changes == ()


def test_planned_routes_whose_start_passed_are_reported() -> None:
    """A route planned before the window that never started is reported start_passed."""
    d = day([vehicle("a")], [route("r0", 0, 1), route("r1", 2, 3)], start_h=0.5)
    result = checked(d, Trigger.ROLLING, None)
    assert [(u.route_id, u.reason) for u in result.unallocated] == [("r0", "start_passed")]
