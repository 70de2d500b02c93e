"""The independent checker accepts valid allocations and catches every kind of broken one."""

from __future__ import annotations

from allocation import (
    AllocationResult,
    DepotDay,
    ReleasedAssignment,
    RouteStatus,
    Trigger,
    VehicleAssignment,
    advance,
    allocate,
    check_allocation,
)
from tests.allocation.builders import day, route, vehicle


def _assign(result: AllocationResult, *pairs: tuple[str, tuple[str, ...]]) -> AllocationResult:
    """The result with exactly these (vehicle, routes) assignments."""
    assignments = tuple(
        VehicleAssignment(
            vehicle_id=v, route_ids=r, score=0, driving_h=0, end_soc_pct=0, min_soc_pct=0
        )
        for v, r in pairs
    )
    covered = sum(len(r) for _, r in pairs)
    return result.model_copy(update={"assignments": assignments, "routes_covered": covered})


def _kinds(
    d: DepotDay, result: AllocationResult, previous: AllocationResult | None = None
) -> set[str]:
    """The names of the rules the checker says ``result`` breaks."""
    return {v.rule for v in check_allocation(d, result, previous)}


D = day(
    [
        vehicle("a", soc_pct=50, charge_rate_kw=0),
        vehicle("b", vehicle_type="large_van"),
        vehicle("c", available_until=None),
    ],
    [
        route("r1", 1, 3, energy_kwh=20),
        route("r2", 2, 4, energy_kwh=20),
        route("r3", 3.1, 5, energy_kwh=20),
        route("big", 6, 7, vehicle_type="large_van"),
    ],
    max_routes_per_sequence=2,
)


def test_the_allocators_result_passes() -> None:
    """What allocate returns satisfies every rule."""
    assert check_allocation(D, allocate(D)) == []


def test_rules_on_ids_and_sequences_are_each_caught() -> None:
    """Twice-used routes and vehicles, overlap, turnaround, type, energy and limits are caught."""
    base = allocate(D)
    assert "route_twice" in _kinds(D, _assign(base, ("a", ("r1",)), ("c", ("r1",))))
    assert "vehicle_twice" in _kinds(D, _assign(base, ("c", ("r1",)), ("c", ("r3",))))
    assert "overlap" in _kinds(D, _assign(base, ("c", ("r1", "r2"))))
    assert "overlap" in _kinds(D, _assign(base, ("c", ("r1", "r3"))))  # 6 min, 15 needed
    assert "vehicle_type" in _kinds(D, _assign(base, ("c", ("big",))))
    assert "energy" in _kinds(D, _assign(base, ("a", ("r1", "big"))))
    assert "max_routes" in _kinds(D, _assign(base, ("b", ("r1", "r3", "big"))))
    assert "order" in _kinds(D, _assign(base, ("b", ("big", "r1"))))
    assert "unknown_route" in _kinds(D, _assign(base, ("b", ("nope",))))


def test_reporting_rules_are_caught() -> None:
    """A route neither assigned nor reported, or a wrong count, is caught."""
    base = allocate(D)
    dropped = base.assignments[0]
    hidden = _assign(base, *((a.vehicle_id, a.route_ids) for a in base.assignments[1:]))
    assert _kinds(D, hidden) == {"unreported"}
    assert dropped.route_ids
    assert "count" in _kinds(D, base.model_copy(update={"routes_covered": 99}))


def test_status_rules_are_caught() -> None:
    """Cancelled routes, moved started routes and moved frozen assignments are caught."""
    first = allocate(D)
    owner = first.vehicle_of()["r1"]
    other = "c" if owner != "c" else "b"
    later = advance(D, first, D.window_start, cancel=["r2"])
    assert "cancelled" in _kinds(later, _assign(first, (other, ("r2",))))
    started = advance(D, first, D.routes[0].start)
    assert next(r for r in started.routes if r.route_id == "r1").status is RouteStatus.STARTED
    moved = _assign(first, (other, ("r1",))).model_copy(update={"trigger": Trigger.ROLLING})
    assert "started_moved" in _kinds(started, moved, first)
    frozen = _assign(first, (other, ("r1",))).model_copy(update={"trigger": Trigger.ROLLING})
    long_freeze = D.parameters.model_copy(update={"freeze_horizon_min": 90.0})
    d = D.model_copy(update={"parameters": long_freeze})
    assert "frozen_moved" in _kinds(d, frozen, first)
    release = ReleasedAssignment(route_id="r1", vehicle_id=owner, constraint="x", detail="")
    released = frozen.model_copy(update={"released": (release,)})
    assert "frozen_moved" not in _kinds(d, released, first)
