"""LP split: maximise the total weighted score of the allocated power.

    maximise    sum_v s_v * x_v
    subject to  sum_v x_v <= P                                  (the signal)
                sum_{v in g} x_v <= G_g       for every group g  (feeder, charger group)
                x_v = 0  or  m_v <= x_v <= c_v                   (semi-continuous when m_v > 0)

``s_v`` is the vehicle's score for the signal type (floored like the Smart dispatcher's),
``c_v`` its effective capacity and ``m_v`` its minimum useful power. With no minimum this is
an LP; with one it is a MIP (HiGHS semi-continuous columns, no big-M). If the solver fails,
times out without an incumbent, or is unavailable, a greedy allocation (best score first,
respecting every limit) is returned instead and the allocation says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import structlog

from dispatch.candidates import Candidates
from dispatch.dispatchers.base import EPS_KW, Allocation, FloatArray
from dispatch.dispatchers.smart import SCORE_FLOOR
from dispatch.errors import ConfigurationError
from dispatch.models import FlexibilitySignal
from dispatch.weights import WeightTable
from solvers import (
    HighsSolver,
    ModelBuilder,
    Sense,
    SolveOptions,
    Solver,
    SolverError,
    VarType,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GroupLimit:
    """At most ``max_kw`` in total over ``vehicle_ids`` (a feeder or charger group)."""

    name: str
    vehicle_ids: frozenset[str]
    max_kw: float

    def __post_init__(self) -> None:
        if not self.max_kw >= 0:
            raise ConfigurationError(f"group {self.name}: max_kw must be >= 0")


class LPDispatcher:
    """Optimal weighted allocation through :mod:`solvers` (HiGHS by default)."""

    name = "lp"

    def __init__(
        self,
        weights: WeightTable | None = None,
        *,
        solver: Solver | None = None,
        options: SolveOptions | None = None,
        min_power_kw: float = 0.0,
        min_power_by_vehicle: Mapping[str, float] | None = None,
        group_limits: Sequence[GroupLimit] = (),
    ) -> None:
        if min_power_kw < 0 or any(v < 0 for v in (min_power_by_vehicle or {}).values()):
            raise ConfigurationError("minimum powers must be >= 0")
        self.weights = weights if weights is not None else WeightTable()
        self.solver: Solver = solver if solver is not None else HighsSolver()
        self.options = options if options is not None else SolveOptions(time_limit_s=2.0)
        self.min_power_kw = min_power_kw
        self.min_power_by_vehicle = dict(min_power_by_vehicle or {})
        self.group_limits = tuple(group_limits)

    def _minimums(self, candidates: Candidates) -> FloatArray:
        return np.array(
            [self.min_power_by_vehicle.get(vid, self.min_power_kw) for vid in candidates.ids],
            dtype=np.float64,
        )

    def _groups(self, candidates: Candidates) -> list[tuple[GroupLimit, np.ndarray]]:
        index = {vid: i for i, vid in enumerate(candidates.ids)}
        out = []
        for g in self.group_limits:
            members = np.array(sorted(index[v] for v in g.vehicle_ids if v in index), dtype=int)
            if members.size:
                out.append((g, members))
        return out

    def allocate(self, signal: FlexibilitySignal, candidates: Candidates) -> Allocation:
        """Solve the LP/MIP; fall back to the greedy allocation if no solution comes back."""
        n = len(candidates)
        scores = np.maximum(candidates.scores(self.weights.get(signal.type)), SCORE_FLOOR)
        caps = candidates.capacity_kw
        mins = self._minimums(candidates)
        upper = np.where(mins <= caps, caps, 0.0)  # a vehicle that cannot reach its minimum gets 0
        groups = self._groups(candidates)
        if n == 0:
            return Allocation(np.zeros(0), 0, solver=self.solver.name, objective=0.0)

        b = ModelBuilder(Sense.MAXIMIZE, f"lp-dispatch-{signal.signal_id}")
        semi = mins > EPS_KW
        cols = b.add_columns(
            n,
            cost=scores,
            lower=np.where(semi, np.minimum(mins, upper), 0.0),
            upper=upper,
            var_type=np.where(semi, VarType.SEMI_CONTINUOUS, VarType.CONTINUOUS).astype(np.int8),
        )
        b.add_rows(1, upper=signal.power_kw, rows=np.zeros(n), cols=cols, values=np.ones(n))
        for g, members in groups:
            b.add_rows(
                1,
                upper=g.max_kw,
                rows=np.zeros(members.size),
                cols=members,
                values=np.ones(members.size),
            )
        try:
            solution = self.solver.solve(b.build(), self.options)
        except SolverError as exc:
            log.warning("lp_dispatch_solver_failed", signal_id=signal.signal_id, error=str(exc))
            return self._greedy(signal, scores, upper, mins, groups, reason="solver_error")
        if not solution.status.has_solution:
            log.warning(
                "lp_dispatch_no_solution",
                signal_id=signal.signal_id,
                status=solution.status.value,
                message=solution.message,
            )
            return self._greedy(signal, scores, upper, mins, groups, reason=solution.status.value)
        x = np.clip(solution.x, 0.0, upper)
        x[x < EPS_KW] = 0.0
        excess = x.sum() - signal.power_kw
        if excess > 0:  # solver tolerance: shave it off the largest allocation
            x[int(np.argmax(x))] -= excess
        return Allocation(
            x,
            1,
            solver=solution.solver,
            objective=float(scores @ x),
            notes={"mip_gap": solution.mip_gap, "solve_s": solution.runtime_s},
        )

    def _greedy(
        self,
        signal: FlexibilitySignal,
        scores: FloatArray,
        upper: FloatArray,
        mins: FloatArray,
        groups: list[tuple[GroupLimit, np.ndarray]],
        *,
        reason: str,
    ) -> Allocation:
        n = scores.size
        membership: list[list[int]] = [[] for _ in range(n)]
        group_room = [g.max_kw for g, _ in groups]
        for gi, (_, members) in enumerate(groups):
            for i in members:
                membership[int(i)].append(gi)
        x = np.zeros(n)
        remaining = signal.power_kw
        for i in np.argsort(-scores, kind="stable"):
            if remaining <= EPS_KW:
                break
            room = min(float(upper[i]), remaining, *(group_room[g] for g in membership[int(i)]))
            if room <= EPS_KW or room < mins[i]:
                continue
            x[i] = room
            remaining -= room
            for g in membership[int(i)]:
                group_room[g] -= room
        return Allocation(x, 1, solver="greedy", objective=float(scores @ x), degraded=reason)
