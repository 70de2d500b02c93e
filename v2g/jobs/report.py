"""What a planning run tells Prometheus: run counts, durations and the plan's key numbers.

``v2g_job_runs_total{site, job, status, solver}`` counts, per site:

- ``job="plan"``: every run, ``status`` ``ok`` or ``failed`` (``solver="none"``); a failed
  run also counts in ``v2g_job_retries_total{job="plan"}``, since it is always retried;
- ``job="allocation"`` / ``job="schedule"``: each stage of a successful run, ``status``
  ``ok``, or ``fallback`` when the greedy answered, with the solver that did.
"""

from __future__ import annotations

from allocation import AllocationResult, AllocationStatus
from metrics import MetricsSink
from metrics import catalog as m
from scheduling import ChargePlan
from v2g.planning.outcome import PlanOutcome

PLAN, ALLOCATION, SCHEDULE = "plan", "allocation", "schedule"
NO_SOLVER = "none"


def plan_cost_eur(plan: ChargePlan) -> float:
    """What the plan's energy costs: energy plus TRIAD charges (not the objective's penalties)."""
    return plan.costs.energy_eur + plan.costs.triad_eur


def unmet_kwh(plan: ChargePlan) -> float:
    """Route energy the plan leaves missing at departure, over every vehicle."""
    return sum(u.missing_kwh for u in plan.unmet)


def record_failure(sink: MetricsSink, site_id: str) -> None:
    """A run failed and will be retried."""
    sink.inc(m.JOB_RUNS, site=site_id, job=PLAN, status="failed", solver=NO_SOLVER)
    sink.inc(m.JOB_RETRIES, site=site_id, job=PLAN)


def record_success(sink: MetricsSink, outcome: PlanOutcome, duration_s: float) -> None:
    """A run completed in ``duration_s``: count it and set the gauges of what it produced."""
    site = outcome.site_id
    sink.inc(m.JOB_RUNS, site=site, job=PLAN, status="ok", solver=NO_SOLVER)
    sink.observe(m.JOB_DURATION, duration_s, site=site, job=PLAN)
    if outcome.allocation is not None:
        _allocation(sink, site, outcome.allocation)
    if outcome.plan is not None:
        _schedule(sink, site, outcome.plan)


def _allocation(sink: MetricsSink, site: str, result: AllocationResult) -> None:
    status = "fallback" if result.status is AllocationStatus.GREEDY else "ok"
    sink.inc(m.JOB_RUNS, site=site, job=ALLOCATION, status=status, solver=result.solver)
    sink.observe(m.JOB_DURATION, result.runtime_s, site=site, job=ALLOCATION)
    sink.set(m.ALLOCATION_ROUTES_COVERED, result.routes_covered, site=site)
    sink.set(m.ALLOCATION_ROUTES_IN_WINDOW, result.routes_in_window, site=site)
    sink.set(m.ALLOCATION_OBJECTIVE, result.objective, site=site)


def _schedule(sink: MetricsSink, site: str, plan: ChargePlan) -> None:
    status = "fallback" if plan.solver == "greedy" else "ok"
    sink.inc(m.JOB_RUNS, site=site, job=SCHEDULE, status=status, solver=plan.solver)
    sink.observe(m.JOB_DURATION, plan.runtime_s, site=site, job=SCHEDULE)
    sink.set(m.SCHEDULE_COST, plan_cost_eur(plan), site=site)
    sink.set(m.SCHEDULE_UNMET, unmet_kwh(plan), site=site)
