"""``schedule(problem, options) -> ChargePlan``: the charge scheduler's entry point.

A pure, synchronous function (the service runs it off the event loop). Methods:

* ``lp`` (default): the LP (:mod:`scheduling.lp`, compact form) through the solver chain
  (HiGHS by default), solved to optimality under a time limit; for large fleets HiGHS solves
  it by exact column generation (:mod:`solvers.colgen`) seeded with the greedy plan, which
  reaches the same optimum while solving only the columns that carry power;
* ``greedy``: the greedy heuristic only.

When the chosen method fails, times out or has no backend, the greedy fallback answers and the
plan says why (``fallback_reason``).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

import structlog

from scheduling.errors import NoPlanError
from scheduling.greedy import greedy_power
from scheduling.instance import ChargeInstance, build_instance
from scheduling.lp import ChargeLp, LpForm, build_lp
from scheduling.models import ScheduleProblem
from scheduling.plan import ChargePlan
from scheduling.report import make_plan
from solvers import (
    HighsSolver,
    Solution,
    SolveOptions,
    Solver,
    SolverChain,
    SolverError,
    SolveStatus,
)
from solvers.colgen import solve_by_column_generation

log = structlog.get_logger(__name__)

COLUMN_GENERATION_MIN_VEHICLES = 2000


class Method(enum.StrEnum):
    """How to compute the plan."""

    LP = "lp"
    GREEDY = "greedy"


@dataclass(frozen=True)
class ScheduleOptions:
    """How :func:`schedule` solves. Every solve has a time limit."""

    method: Method = Method.LP
    solvers: tuple[Solver, ...] = field(default_factory=lambda: (HighsSolver(),))
    time_limit_s: float = 10.0
    lp_form: LpForm = LpForm.COMPACT
    greedy_fallback: bool = True
    # exact column generation seeded by the greedy plan; None: for fleets of at least
    # COLUMN_GENERATION_MIN_VEHICLES when HiGHS solves the compact form
    column_generation: bool | None = None


def schedule(problem: ScheduleProblem, options: ScheduleOptions | None = None) -> ChargePlan:
    """Plan the charging of ``problem``'s vehicles over its (adapted) window."""
    return schedule_instance(build_instance(problem), options or ScheduleOptions())


def schedule_instance(inst: ChargeInstance, options: ScheduleOptions) -> ChargePlan:
    """Plan an already built instance (benchmarks time the two steps apart)."""
    started = time.perf_counter()
    reason: str | None = None
    if options.method is not Method.GREEDY:
        try:
            lp, solution = solve_lp(inst, options)
        except SolverError as exc:
            reason = str(exc)
            log.warning("schedule_fallback", site_id=inst.site_id, reason=reason)
        else:
            elapsed = time.perf_counter() - started
            return make_plan(
                inst,
                lp.power_kw(solution.x),
                solver=solution.solver,
                optimal=True,
                runtime_s=elapsed,
            )
        if not options.greedy_fallback:
            raise NoPlanError(f"no optimal plan: {reason}", site_id=inst.site_id)
    power = greedy_power(inst)
    elapsed = time.perf_counter() - started
    return make_plan(
        inst, power, solver="greedy", optimal=False, runtime_s=elapsed, fallback_reason=reason
    )


def _column_generation(inst: ChargeInstance, options: ScheduleOptions) -> bool:
    if options.column_generation is not None:
        return options.column_generation
    return (
        inst.n_vehicles >= COLUMN_GENERATION_MIN_VEHICLES
        and options.lp_form is LpForm.COMPACT
        and isinstance(options.solvers[0], HighsSolver)
    )


def solve_lp(inst: ChargeInstance, options: ScheduleOptions) -> tuple[ChargeLp, Solution]:
    """The LP and its optimal solution; raises SolverError without an optimal solution."""
    lp = build_lp(inst, options.lp_form)
    # the compact form is already reduced; HiGHS's presolve costs more than it saves on it
    presolve = options.lp_form is not LpForm.COMPACT
    solve_options = SolveOptions(time_limit_s=options.time_limit_s, presolve=presolve)
    if _column_generation(inst, options):
        seed = lp.seed_columns(greedy_power(inst))
        solution = solve_by_column_generation(lp.model, seed, solve_options)
        log.debug("schedule_column_generation", site_id=inst.site_id, detail=solution.message)
    else:
        solution = SolverChain(options.solvers).solve(lp.model, solve_options)
    if not solution.status.has_solution:
        raise SolverError(f"no solution ({solution.status.value})", solver=solution.solver)
    if solution.status is not SolveStatus.OPTIMAL:
        raise SolverError("stopped before proving optimality", solver=solution.solver)
    return lp, solution
