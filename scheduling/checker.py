"""An independent check of a returned plan against the raw problem.

It shares no code with the model builders or solvers: it re-reads the scenario (routes, modes,
efficiencies, forecasts) with its own few lines and verifies every hard constraint of the seed
model on the plan's powers:

* rate: ``0 <= power <= ac_charge_rate_kw``;
* availability: no power in a slot that overlaps one of the vehicle's routes;
* site capacity: total power ``<= max(0, site_capacity_kw - forecast)`` in every slot;
* SoC cap: at every slot boundary, current energy plus energy charged minus the energy of the
  routes that left before it (inside the window) never exceeds the battery; the battery is
  fullest just before each departure, so that is where a plan breaks it;
* energy at each departure inside the window: charged before departure
  ``>= max(0, cumulative route energy + reserve - current energy)``, less what the plan
  reports missing for that route;
* departures needing energy past the window are listed as beyond the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduling.models import LoadPoint, Mode, Route, ScheduleProblem, VehicleSpec
from scheduling.plan import ChargePlan

TOL = 1e-6


@dataclass(frozen=True)
class Violation:
    """One broken constraint."""

    constraint: str
    subject: str  # vehicle id, route id or slot index
    excess: float
    detail: str = ""


def _drives(problem: ScheduleProblem) -> dict[str, list[Route]]:
    routes = {r.route_id: r for r in problem.routes}
    out: dict[str, list[Route]] = {v.vehicle_id: [] for v in problem.vehicles}
    if problem.mode is Mode.INDEPENDENT:
        pairs = [(r.vehicle_id, r) for r in problem.routes if r.vehicle_id is not None]
    else:
        pairs = [(a.vehicle_id, routes[a.route_id]) for a in problem.allocations]
    for vid, r in pairs:
        out[str(vid)].append(r)
    return out


def _load_kw(points: tuple[LoadPoint, ...], when: datetime) -> float:
    ordered = sorted(points, key=lambda p: p.start)
    current = None
    for i, p in enumerate(ordered):
        if p.start <= when:
            current = i
    if current is None:
        return 0.0
    if current == len(ordered) - 1 and when >= ordered[current].start + timedelta(hours=1):
        return 0.0
    return ordered[current].load_kw


def _route_kwh(route: Route, veh: VehicleSpec, fleet_eff: float) -> float:
    if route.energy_kwh is not None:
        return route.energy_kwh
    return (route.distance_km or 0.0) * (veh.efficiency_kwh_per_km or fleet_eff)


def _check_powers(
    veh: VehicleSpec,
    *,
    power: tuple[float, ...],
    routes: list[Route],
    starts: list[datetime],
    slot: timedelta,
    fleet_eff: float,
    tol: float,
) -> list[Violation]:
    out: list[Violation] = []
    h = slot.total_seconds() / 3600
    window_start = starts[0] if starts else None
    driving = [
        (r.departure, _route_kwh(r, veh, fleet_eff))
        for r in routes
        if window_start is not None and r.departure >= window_start
    ]
    charged = 0.0
    for i, p in enumerate(power):
        if p < -tol or p > veh.ac_charge_rate_kw + tol:
            out.append(Violation("rate", veh.vehicle_id, p, f"slot {i}"))
        s0, s1 = starts[i], starts[i] + slot
        away = any(
            (s0 < r.return_at and r.departure < s1)
            or (r.return_at == r.departure and s0 <= r.departure < s1)
            for r in routes
        )
        if away and p > tol:
            out.append(Violation("availability", veh.vehicle_id, p, f"slot {i}"))
        charged += p * h
        # at the end of slot i, before any route leaving right then
        driven = sum(kwh for dep, kwh in driving if dep < s1)
        held = veh.soc_kwh + charged - driven
        if held > veh.battery_kwh + tol:
            excess = held - veh.battery_kwh
            out.append(Violation("soc_cap", veh.vehicle_id, excess, f"slot {i}"))
    return out


def _check_departures(
    problem: ScheduleProblem,
    *,
    plan: ChargePlan,
    veh: VehicleSpec,
    routes: list[Route],
    fleet_eff: float,
    tol: float,
) -> list[Violation]:
    out: list[Violation] = []
    slot = timedelta(minutes=plan.slot_minutes)
    h = plan.slot_minutes / 60
    end = plan.window_start + plan.n_slots * slot
    power = next(v.power_kw for v in plan.vehicles if v.vehicle_id == veh.vehicle_id)
    missing = {u.route_id: u.missing_kwh for u in plan.unmet if u.vehicle_id == veh.vehicle_id}
    reserve = veh.battery_kwh * problem.site.reserve_soc_pct / 100
    cumulative = 0.0
    for r in sorted(routes, key=lambda r: r.departure):
        if r.departure < plan.window_start:
            continue
        cumulative += _route_kwh(r, veh, fleet_eff)
        required = max(0.0, cumulative + reserve - veh.soc_kwh)
        if r.departure > end:
            if required > tol and r.route_id not in plan.window.beyond_horizon:
                out.append(Violation("horizon", r.route_id, required, "not reported"))
            continue
        before = sum(
            p * h for i, p in enumerate(power) if plan.window_start + (i + 1) * slot <= r.departure
        )
        short = required - before - missing.get(r.route_id, 0.0)
        if short > tol:
            out.append(Violation("departure_energy", r.route_id, short, veh.vehicle_id))
    return out


def check_plan(problem: ScheduleProblem, plan: ChargePlan, tol: float = TOL) -> list[Violation]:
    """Every hard constraint ``plan`` breaks; an empty list means the plan is valid."""
    out: list[Violation] = []
    slot = timedelta(minutes=plan.slot_minutes)
    starts = [plan.window_start + i * slot for i in range(plan.n_slots)]
    by_id = {v.vehicle_id: v for v in plan.vehicles}
    drives = _drives(problem)
    known_eff = [v.efficiency_kwh_per_km for v in problem.vehicles if v.efficiency_kwh_per_km]
    fleet_eff = sum(known_eff) / len(known_eff) if known_eff else 0.0
    site = [0.0] * plan.n_slots
    for veh in problem.vehicles:
        vp = by_id.get(veh.vehicle_id)
        if vp is None or len(vp.power_kw) != plan.n_slots:
            out.append(Violation("shape", veh.vehicle_id, 0.0, "missing or wrong length"))
            continue
        site = [a + b for a, b in zip(site, vp.power_kw, strict=True)]
        routes = drives[veh.vehicle_id]
        out += _check_powers(
            veh,
            power=vp.power_kw,
            routes=routes,
            starts=starts,
            slot=slot,
            fleet_eff=fleet_eff,
            tol=tol,
        )
        out += _check_departures(
            problem, plan=plan, veh=veh, routes=routes, fleet_eff=fleet_eff, tol=tol
        )
    for i, total in enumerate(site):
        cap = max(0.0, problem.site.site_capacity_kw - _load_kw(problem.load_forecast, starts[i]))
        if total > cap + tol * max(1.0, cap):
            out.append(Violation("site_capacity", str(i), total - cap))
    return out
