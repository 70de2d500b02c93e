"""Plain-text reports of stored planning runs: what ``v2g plan`` and friends print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduling import ChargePlan, VehiclePlan
from v2g.cli_allocate import summary as allocation_summary
from v2g.cli_schedule import summary as plan_summary
from v2g.planning import PlanOutcome
from v2g.table import render_table

TOP = 15


def _hhmm(when: datetime) -> str:
    return f"{when.astimezone(UTC):%H:%M}"


def _charging(plan: ChargePlan, v: VehiclePlan) -> str:
    slots = [t for t, kw in enumerate(v.power_kw) if kw > 1e-6]
    if not slots:
        return "-"
    step = timedelta(minutes=plan.slot_minutes)
    first = plan.window_start + slots[0] * step
    last = plan.window_start + (slots[-1] + 1) * step
    return f"{_hhmm(first)}-{_hhmm(last)}"


def vehicle_table(plan: ChargePlan) -> str:
    """The vehicles charging most, one row each: energy, peak, when, end state, shortfall."""
    ranked = sorted(plan.vehicles, key=lambda v: (-v.energy_kwh, v.vehicle_id))
    rows = [
        (
            v.vehicle_id,
            f"{v.energy_kwh:.1f}",
            f"{max(v.power_kw, default=0.0):.1f}",
            _charging(plan, v),
            f"{v.soc_kwh[-1]:.1f}",
            f"{v.target_shortfall_kwh:.1f}",
        )
        for v in ranked[:TOP]
    ]
    header = ("vehicle", "charge_kwh", "peak_kw", "charging_utc", "end_kwh", "target_short_kwh")
    lines = [render_table(header, rows)]
    if len(ranked) > TOP:
        lines.append(f"... and {len(ranked) - TOP} more vehicles")
    return "\n".join(lines)


def unmet_table(plan: ChargePlan) -> str:
    """Routes whose energy is missing at departure."""
    rows = [
        (u.route_id, u.vehicle_id, _hhmm(u.departure), f"{u.missing_kwh:.1f}", u.reason.value)
        for u in plan.unmet
    ]
    return render_table(("unmet route", "vehicle", "departs", "missing_kwh", "reason"), rows)


def schedule_report(plan: ChargePlan) -> str:
    """The scheduler's summary lines, the vehicle table and the unmet routes."""
    lines = [plan_summary(plan), "", vehicle_table(plan)]
    if plan.unmet:
        lines += ["", unmet_table(plan)]
    return "\n".join(lines)


def outcome_report(outcome: PlanOutcome) -> str:
    """Everything a planning run stored, as a depot planner reads it."""
    parts = []
    if outcome.allocation is not None:
        parts += [allocation_summary(outcome.allocation), ""]
    if outcome.plan is not None:
        parts += [schedule_report(outcome.plan), ""]
    runs = []
    if outcome.allocation_run_id:
        runs.append(f"allocation run {outcome.allocation_run_id}")
    if outcome.schedule_run_id:
        runs.append(f"schedule run {outcome.schedule_run_id}")
    parts.append(f"stored: {', '.join(runs)}")
    return "\n".join(parts)
