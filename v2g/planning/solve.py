"""The CPU-heavy solves of a run, as module-level functions an :class:`Offload` can pickle.

The options are built in the caller from the site's config (solver, time limits) and cross
to the worker with the problem.
"""

from __future__ import annotations

from allocation import AllocateOptions, AllocationResult, DepotDay, Trigger, allocate
from allocation import Method as AllocationMethod
from scheduling import ChargePlan, ScheduleOptions, ScheduleProblem, schedule
from scheduling import Method as ScheduleMethod
from solvers import HexalySolver, HighsSolver, PulpSolver, Solver
from v2g.site_params import SiteConfig, SolverName


def solve_allocation(
    day: DepotDay, trigger: Trigger, previous: AllocationResult | None, options: AllocateOptions
) -> AllocationResult:
    """:func:`allocation.allocate`, with positional arguments."""
    return allocate(day, trigger=trigger, previous=previous, options=options)


def solve_schedule(problem: ScheduleProblem, options: ScheduleOptions) -> ChargePlan:
    """:func:`scheduling.schedule`."""
    return schedule(problem, options)


def _chain(name: SolverName, hexaly_licence: str | None) -> tuple[Solver, ...]:
    if name is SolverName.PULP:
        return (PulpSolver(), HighsSolver())
    if name is SolverName.HEXALY:
        return (HexalySolver(hexaly_licence), HighsSolver())
    return (HighsSolver(),)


def allocation_options(config: SiteConfig, hexaly_licence: str | None = None) -> AllocateOptions:
    """The allocator's options for the site's solver and time limit."""
    limit = config.allocation_time_limit_s
    if config.solver is SolverName.GREEDY:
        return AllocateOptions(method=AllocationMethod.GREEDY, time_limit_s=limit)
    return AllocateOptions(solvers=_chain(config.solver, hexaly_licence), time_limit_s=limit)


def schedule_options(config: SiteConfig, hexaly_licence: str | None = None) -> ScheduleOptions:
    """The scheduler's options for the site's solver and time limit."""
    limit = config.schedule_time_limit_s
    if config.solver is SolverName.GREEDY:
        return ScheduleOptions(method=ScheduleMethod.GREEDY, time_limit_s=limit)
    return ScheduleOptions(solvers=_chain(config.solver, hexaly_licence), time_limit_s=limit)
