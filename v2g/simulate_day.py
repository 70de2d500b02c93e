"""A simulated depot day end to end: allocate, schedule, cancel a route mid-day, re-allocate.

The original system's ``tests/test_framework.py``, as a function the CLI (``v2g
simulate-day``) prints. Every result is verified by an independent checker:

1. ``initial`` allocation at the window start -> :func:`allocation.check_allocation`;
2. charge scheduling of that allocation in post-allocation mode (synthetic day-shaped prices,
   a site sized for half the fleet's charging power) -> :func:`scheduling.check_plan`;
3. at mid-day one allocated route (the first starting after the freeze horizon) is
   cancelled; routes that left under the allocation are on the road; each vehicle's SoC is
   what the allocation's energy model expects at that time;
4. ``cancellation`` re-run from the first allocation -> the checker, plus the stability rule
   of ``docs/allocation.md``: no covered route is lost, and unless the optimum now covers more
   routes than before, nothing but the cancelled route changes.

No clock, file or environment is read here; the CLI passes the day and the times in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from allocation import (
    AllocateOptions,
    AllocationResult,
    DepotDay,
    RouteStatus,
    Trigger,
    Violation,
    advance,
    allocate,
    check_allocation,
)
from allocation.energy import soc_at_kwh
from scheduling import (
    ChargePlan,
    Mode,
    PricePoint,
    RouteAssignment,
    ScheduleOptions,
    ScheduleProblem,
    SiteParameters,
    VehicleSpec,
    check_plan,
    schedule,
)
from scheduling import Route as ScheduleRoute
from scheduling import Violation as PlanViolation
from scheduling.slots import SLOT, floor_slot


@dataclass(frozen=True)
class Step:
    """One allocation run of the day and what the checker says."""

    label: str
    day: DepotDay
    result: AllocationResult
    violations: tuple[Violation, ...]


@dataclass(frozen=True)
class DayReport:
    """Everything the simulation did and verified."""

    initial: Step
    plan: ChargePlan
    plan_violations: tuple[PlanViolation, ...]
    cancelled_route: str | None
    cancelled_vehicle: str | None
    rerun: Step | None
    stability: tuple[str, ...]  # broken stability rules, empty when kept

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        reruns = () if self.rerun is None else self.rerun.violations
        return not (self.initial.violations or self.plan_violations or reruns or self.stability)


def day_prices(start: datetime, hours: float) -> tuple[PricePoint, ...]:
    """Synthetic half-hourly prices: cheap at night, a morning and a higher evening peak."""
    out = []
    for i in range(math.ceil(hours * 2) + 2):
        when = start + i * SLOT
        h = when.hour + when.minute / 60
        peak = 0.08 * math.exp(-((h - 8) ** 2) / 4) + 0.14 * math.exp(-((h - 18.5) ** 2) / 5)
        out.append(PricePoint(start=when, price_eur_per_kwh=round(0.12 + peak, 4)))
    return tuple(out)


def schedule_problem(day: DepotDay, result: AllocationResult) -> ScheduleProblem:
    """The charge-scheduling problem of the day as allocated (post-allocation mode)."""
    start = floor_slot(day.window_start)
    hours = min(24.0, max(4.0, day.parameters.window_h))
    vehicles = tuple(
        VehicleSpec(
            vehicle_id=v.vehicle_id,
            battery_kwh=v.battery_kwh,
            ac_charge_rate_kw=v.charge_rate_kw,
            efficiency_kwh_per_km=v.efficiency_kwh_per_km,
            soc_pct=v.soc_pct,
        )
        for v in day.vehicles
    )
    routes = tuple(
        ScheduleRoute(
            route_id=r.route_id,
            departure=r.start,
            return_at=r.end,
            distance_km=r.distance_km,
            energy_kwh=r.energy_kwh,
        )
        for r in day.routes
        if r.status is not RouteStatus.CANCELLED
    )
    allocations = tuple(
        RouteAssignment(route_id=rid, vehicle_id=vid) for rid, vid in result.vehicle_of().items()
    )
    return ScheduleProblem(
        site_id=day.site_id,
        window_start=start,
        planning_window_h=hours,
        mode=Mode.POST_ALLOCATION,
        vehicles=vehicles,
        routes=routes,
        allocations=allocations,
        prices=day_prices(start, 24.0),
        site=SiteParameters(
            site_capacity_kw=0.5 * sum(v.charge_rate_kw for v in day.vehicles),
            target_soc_pct=80.0,
            time_preference_eur_per_kwh=0.005,
            reserve_soc_pct=day.parameters.reserve_soc_pct,
        ),
    )


def _to_cancel(day: DepotDay, result: AllocationResult, when: datetime) -> str | None:
    """The first allocated route starting after ``when`` plus the freeze horizon."""
    after = when + timedelta(minutes=day.parameters.freeze_horizon_min)
    given = result.vehicle_of()
    later = sorted(
        (r.start, r.route_id) for r in day.routes if r.route_id in given and r.start >= after
    )
    return later[0][1] if later else None


def _expected_soc(day: DepotDay, result: AllocationResult, when: datetime) -> dict[str, float]:
    """Each vehicle's SoC (%) at ``when`` under the allocation's own energy model."""
    routes = {r.route_id: r for r in day.routes}
    by_vehicle = {a.vehicle_id: [routes[r] for r in a.route_ids] for a in result.assignments}
    out = {}
    for v in day.vehicles:
        kwh = soc_at_kwh(
            v,
            by_vehicle.get(v.vehicle_id, []),
            when,
            now=day.window_start,
            charging_efficiency=day.parameters.charging_efficiency,
        )
        out[v.vehicle_id] = min(100.0, max(0.0, 100 * kwh / v.battery_kwh))
    return out


def stability(
    first: AllocationResult, rerun: AllocationResult, cancelled: str, when: datetime, day: DepotDay
) -> tuple[str, ...]:
    """Broken stability rules of a cancellation re-run (empty when none)."""
    ends = {r.route_id: r.end for r in day.routes}
    before = {r: v for r, v in first.vehicle_of().items() if ends[r] > when}
    after = rerun.vehicle_of()
    out = []
    if len(after) < len(before) - 1:
        out.append(f"covers {len(after)} routes, fewer than the {len(before) - 1} kept before")
    if len(after) == len(before) - 1:
        expected = {r: v for r, v in before.items() if r != cancelled}
        moved = sorted(r for r in expected if after.get(r) != expected[r])
        if moved:
            out.append(f"routes changed without covering more: {', '.join(moved)}")
    return tuple(out)


def simulate_day(
    day: DepotDay,
    *,
    cancel_at: datetime | None = None,
    options: AllocateOptions | None = None,
    schedule_options: ScheduleOptions | None = None,
) -> DayReport:
    """Run the day (see the module docstring); ``cancel_at`` defaults to mid-window."""
    opts = options or AllocateOptions()
    first = allocate(day, trigger=Trigger.INITIAL, options=opts)
    initial = Step("initial", day, first, tuple(check_allocation(day, first)))
    problem = schedule_problem(day, first)
    plan = schedule(problem, schedule_options or ScheduleOptions())
    plan_violations = tuple(check_plan(problem, plan))
    when = cancel_at or floor_slot(day.window_start + timedelta(hours=day.parameters.window_h / 2))
    target = _to_cancel(day, first, when)
    if target is None:
        return DayReport(initial, plan, plan_violations, None, None, None, ())
    later = advance(day, first, when, cancel=[target], soc_pct=_expected_soc(day, first, when))
    again = allocate(later, trigger=Trigger.CANCELLATION, previous=first, options=opts)
    rerun = Step("cancellation", later, again, tuple(check_allocation(later, again, first)))
    return DayReport(
        initial,
        plan,
        plan_violations,
        target,
        first.vehicle_of()[target],
        rerun,
        stability(first, again, target, when, day),
    )
