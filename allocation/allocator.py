"""``allocate(day, trigger, previous, options) -> AllocationResult``: the allocator's entry point.

A pure, synchronous function (the service runs it off the event loop): it reads no clock
other than a monotonic timer for its time limit, no file and no environment.

1. Open the rolling window (:mod:`allocation.window`); keep started routes, and frozen
   assignments that still pass every constraint (the others are released and reported).
2. Evaluate route and transition constraints once (:mod:`allocation.instance`).
3. Run the greedy (:mod:`allocation.greedy`); its sequences seed the pool.
4. ``Method.MIP`` (default): price sequences into the pool, solve the seed MIP, prove
   optimality (:mod:`allocation.colgen`), through the solver chain (HiGHS by default).
5. When the chain fails or no backend is available, the greedy answers and says why.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import structlog

from allocation.constraints import DEFAULT_CONSTRAINTS, Constraint, rejections
from allocation.errors import NoAllocationError
from allocation.greedy import greedy
from allocation.instance import Instance, build_instance
from allocation.model import Pool
from allocation.models import DepotDay, Vehicle
from allocation.report import Outcome, make_result
from allocation.result import AllocationResult, AllocationStatus, ReleasedAssignment, Trigger
from allocation.scoring import DEFAULT_TERMS, Term
from allocation.search import Seq, SequenceSearch
from allocation.solve import optimise
from allocation.window import Context, Window, open_window
from solvers import HighsSolver, Solver, SolverChain, SolverError

log = structlog.get_logger(__name__)

PRICING_SHARE = 0.7  # of the time limit, for greedy and column generation; the MIP gets the rest
MAX_ENUMERATED = 5_000  # sequences the optimality proof may add


class Method(enum.StrEnum):
    """How to allocate."""

    MIP = "mip"
    GREEDY = "greedy"


@dataclass(frozen=True)
class AllocateOptions:
    """How :func:`allocate` works. ``time_limit_s=None`` takes the site's parameter."""

    method: Method = Method.MIP
    solvers: tuple[Solver, ...] = field(default_factory=lambda: (HighsSolver(),))
    constraints: tuple[Constraint, ...] = DEFAULT_CONSTRAINTS
    terms: tuple[Term, ...] = DEFAULT_TERMS
    time_limit_s: float | None = None
    greedy_fallback: bool = True
    max_enumerated: int = MAX_ENUMERATED


def _freeze(
    window: Window, vehicles: Sequence[Vehicle], constraints: Sequence[Constraint]
) -> tuple[Context, list[ReleasedAssignment]]:
    """Keep each vehicle's frozen assignments if its kept routes still pass every constraint."""
    trial = window.ctx.with_kept(window.frozen)
    by_id = {r.route_id: r for r in window.routes}
    kept: dict[str, str] = {}
    released: list[ReleasedAssignment] = []
    for veh in vehicles:
        frozen = [rid for rid, vid in window.frozen.items() if vid == veh.vehicle_id]
        if not frozen:
            continue
        mine = [r for rid, r in by_id.items() if trial.kept.get(rid) == veh.vehicle_id]
        mine.sort(key=lambda r: (r.start, r.route_id))
        found = rejections(constraints, trial, veh, mine)
        if not found:
            kept.update(dict.fromkeys(frozen, veh.vehicle_id))
            continue
        released += [
            ReleasedAssignment(
                route_id=rid,
                vehicle_id=veh.vehicle_id,
                constraint=found[0].constraint,
                detail=found[0].detail,
            )
            for rid in frozen
        ]
    return window.ctx.with_kept(kept), released


def prepare(
    day: DepotDay,
    trigger: Trigger,
    previous: AllocationResult | None,
    options: AllocateOptions,
) -> tuple[Window, Instance, list[ReleasedAssignment]]:
    """Open the window, settle kept routes, evaluate route and transition constraints."""
    window = open_window(day, trigger, previous)
    ctx, released = _freeze(window, day.vehicles, options.constraints)
    inst = build_instance(ctx, window.routes, day.vehicles, options.constraints, options.terms)
    return window, inst, released


def _previous_columns(
    search: SequenceSearch, previous: AllocationResult | None
) -> list[tuple[int, Seq]]:
    """The previous allocation's sequences, less routes that left the problem, if still valid."""
    if previous is None or not search.inst.ctx.previous:
        return []
    inst = search.inst
    r_index = {r.route_id: i for i, r in enumerate(inst.routes)}
    v_index = {v.vehicle_id: i for i, v in enumerate(inst.vehicles)}
    out = []
    for a in previous.assignments:
        v = v_index.get(a.vehicle_id)
        if v is None:
            continue
        seq = tuple(
            sorted({r_index[r] for r in a.route_ids if r in r_index} | set(inst.required[v]))
        )
        if search.is_column(v, seq):
            out.append((v, seq))
    return out


@dataclass(frozen=True)
class Run:
    """An allocation and what produced it (benchmarks and tests read the pool)."""

    result: AllocationResult
    instance: Instance
    pool: Pool


def allocate(
    day: DepotDay,
    *,
    trigger: Trigger = Trigger.INITIAL,
    previous: AllocationResult | None = None,
    options: AllocateOptions | None = None,
) -> AllocationResult:
    """Allocate ``day``'s routes in its window starting at ``day.window_start``."""
    return allocate_run(day, trigger=trigger, previous=previous, options=options).result


def allocate_run(
    day: DepotDay,
    *,
    trigger: Trigger = Trigger.INITIAL,
    previous: AllocationResult | None = None,
    options: AllocateOptions | None = None,
) -> Run:
    """:func:`allocate`, also returning the instance and the pool of generated sequences."""
    opts = options or AllocateOptions()
    started = time.perf_counter()
    time_limit = opts.time_limit_s or day.parameters.time_limit_s
    window, inst, released = prepare(day, trigger, previous, opts)
    search = SequenceSearch(inst)
    pool = Pool()
    picked, seen, greedy_bound = greedy(search)
    for v, seq in [*_previous_columns(search, previous), *picked, *seen]:
        pool.add(v, seq, search.column_value(v, seq))
    fallback = Outcome(tuple(picked), AllocationStatus.GREEDY, "greedy", greedy_bound, len(pool))
    outcome = fallback
    if opts.method is Method.MIP:
        try:
            outcome = optimise(
                search,
                pool,
                SolverChain(opts.solvers),
                deadline=started + time_limit,
                pricing_deadline=started + PRICING_SHARE * time_limit,
                greedy=fallback,
                max_enumerated=opts.max_enumerated,
            )
        except SolverError as exc:
            if not opts.greedy_fallback:
                raise NoAllocationError(str(exc), site_id=day.site_id) from exc
            log.warning("allocation_fallback", site_id=day.site_id, reason=str(exc))
            outcome = replace(fallback, sequences=len(pool), fallback_reason=str(exc))
    result = make_result(
        site_id=day.site_id,
        trigger=trigger,
        window=window,
        search=search,
        outcome=outcome,
        released=released,
        previous=_raw_previous(previous, trigger),
        runtime_s=time.perf_counter() - started,
    )
    return Run(result, inst, pool)


def _raw_previous(previous: AllocationResult | None, trigger: Trigger) -> dict[str, str] | None:
    if previous is None or trigger is Trigger.INITIAL:
        return None
    return previous.vehicle_of()
