"""The charge-scheduling LP, built with :class:`solvers.ModelBuilder`.

Two equivalent forms:

* ``LpForm.SPEC`` is the seed's formulation as written: ``charge_power[t][v]`` in
  ``[0, rate]`` (0 where unavailable), ``cumulative_energy[t][v]`` tied by one equality per
  slot, the route checkpoints on ``cumulative_energy[k-1][v]``, ``shortfall_v``; with one
  deliberate departure, EQ-04: ``cumulative_energy[t][v]`` is capped at the headroom *plus the
  energy of the vehicle's routes that left by the end of slot t* (the battery never holds more
  than its capacity), not at the headroom alone, which would forbid recharging between routes.
* ``LpForm.COMPACT`` substitutes the prefix sums for ``cumulative_energy`` (it is one), keeps
  power columns only where the vehicle is available, and states the SoC cap only where the
  battery is fullest: just before each departure (energy charged by then ``<= cap_c``, on the
  checkpoint's own row) and at the window's end (on the vehicle's target-SoC row). Between two
  departures energy only grows, so these rows imply the cap at every slot. Rows and caps that
  cannot bind (a cap the vehicle cannot pass at full rate within its earlier caps, capacity of
  a slot the available rates cannot exceed) are dropped.

Both add one slack per checkpoint, ``unmet_c`` in ``[0, enforceable_c]`` at the unmet penalty,
so that competition for site capacity leaves the model feasible and reports the kWh missing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from scheduling.feasibility import binding_caps, enforceable_kwh
from scheduling.instance import BoolArray, ChargeInstance, IntArray
from solvers import LinearModel, ModelBuilder, Sense
from solvers.model import FloatArray


class LpForm(enum.Enum):
    """Which of the two equivalent formulations to build."""

    SPEC = "spec"
    COMPACT = "compact"


@dataclass(frozen=True, eq=False)
class ChargeLp:
    """A built model and where its power columns are."""

    model: LinearModel
    power_cols: IntArray  # column of each power variable
    power_v: IntArray  # its vehicle
    power_t: IntArray  # its slot
    n_vehicles: int
    n_slots: int

    def seed_columns(self, power_kw: FloatArray, cheapest: int = 0) -> BoolArray:
        """Columns worth solving first, from a heuristic (V, T) plan ``power_kw``.

        Every non-power column; the power columns the plan uses; for each vehicle, every slot
        at most as dear as the dearest slot the plan used for it (where an optimal plan would
        swap to); and each vehicle's ``cheapest`` slots. On the benchmark fleets this seed
        already holds an optimal basis, so column generation ends after one solve.
        """
        seed = np.ones(self.model.num_cols, dtype=bool)
        cost = self.model.cost[self.power_cols]
        used = power_kw[self.power_v, self.power_t] > 0
        dearest = np.full(self.n_vehicles, -np.inf)
        np.maximum.at(dearest, self.power_v[used], cost[used])
        wanted = cost <= dearest[self.power_v] * (1 + 1e-12) + 1e-12
        if cheapest > 0:
            order = np.lexsort((cost, self.power_v))
            rank = np.arange(order.size) - np.searchsorted(
                self.power_v[order], self.power_v[order], side="left"
            )
            wanted[order[rank < cheapest]] = True
        seed[self.power_cols] = wanted | used
        return seed

    def power_kw(self, x: FloatArray) -> FloatArray:
        """(V, T) charging power from a solution vector."""
        out = np.zeros((self.n_vehicles, self.n_slots))
        out[self.power_v, self.power_t] = np.clip(x[self.power_cols], 0.0, None)
        return out


def build_lp(inst: ChargeInstance, form: LpForm = LpForm.COMPACT) -> ChargeLp:
    """Build the LP of ``inst`` in the requested form."""
    if form is LpForm.SPEC:
        return _build_spec(inst)
    return _build_compact(inst)


def _common_columns(b: ModelBuilder, inst: ChargeInstance) -> tuple[range, range, FloatArray]:
    enforce = enforceable_kwh(inst)
    short = b.add_columns(
        inst.n_vehicles, cost=inst.shortfall_penalty_eur_per_kwh, upper=inst.target_need_kwh
    )
    unmet = b.add_columns(enforce.size, cost=inst.unmet_penalty_eur_per_kwh, upper=enforce)
    return short, unmet, enforce


def _build_compact(inst: ChargeInstance) -> ChargeLp:
    usable = inst.available & (inst.rate_kw[:, None] > 0)
    v_idx, t_idx = np.nonzero(usable)
    b = ModelBuilder(Sense.MINIMIZE, f"charge-{inst.site_id}")
    power = b.add_columns(
        v_idx.size, cost=inst.cost_eur_per_kwh[t_idx] * inst.slot_h, upper=inst.rate_kw[v_idx]
    )
    p_cols = np.arange(power.start, power.stop)
    short, unmet, enforce = _common_columns(b, inst)
    h = inst.slot_h
    before = np.concatenate(
        [np.zeros((inst.n_vehicles, 1), np.int64), np.cumsum(usable, axis=1)], axis=1
    )
    # SoC cap just before each departure (charged by then <= cap_c) and at the window's end,
    # where the vehicle could pass it
    binds, capped_end = binding_caps(inst)
    # one row per checkpoint that needs energy or whose cap binds:
    #   enforceable_c <= charged before departure + unmet_c <= cap_c
    # (at an optimum unmet_c = max(0, enforceable_c - charged) and enforceable_c <= cap_c, so
    # the slack never tightens the cap)
    active = np.nonzero((enforce > 0) | binds)[0]
    if active.size:
        veh = inst.cp_vehicle[active]
        first = np.searchsorted(v_idx, veh, side="left")
        count = before[veh, inst.cp_slot[active]]
        row_p = np.repeat(np.arange(active.size), count)
        offset = np.arange(row_p.size) - np.repeat(np.cumsum(count) - count, count)
        rows = np.concatenate([row_p, np.arange(active.size)])
        cols = np.concatenate([p_cols[np.repeat(first, count) + offset], unmet.start + active])
        vals = np.concatenate([np.full(row_p.size, h), np.ones(active.size)])
        lower = np.where(enforce[active] > 0, enforce[active], -np.inf)
        upper = np.where(binds[active], inst.cp_cap_kwh[active], np.inf)
        b.add_rows(active.size, lower=lower, upper=upper, rows=rows, cols=cols, values=vals)
    # one row per vehicle on the total where the cap at the window's end binds or the vehicle
    # wants energy for its target SoC:  need_v <= total + shortfall_v <= final cap_v
    # (at an optimum shortfall_v = max(0, need_v - total), and need_v <= headroom <= cap_v)
    wants = inst.target_need_kwh > 0
    totals = np.nonzero(capped_end | wants)[0]
    _total_rows(
        b,
        vehicles=totals,
        v_idx=v_idx,
        p_cols=p_cols,
        h=h,
        n_vehicles=inst.n_vehicles,
        lower=np.where(wants[totals], inst.target_need_kwh[totals], -np.inf),
        upper=np.where(capped_end[totals], inst.final_cap_kwh[totals], np.inf),
        extra=short.start + totals,
    )
    # site capacity per slot, where the available rates could exceed it
    demand = np.bincount(t_idx, weights=inst.rate_kw[v_idx], minlength=inst.n_slots)
    tight = np.nonzero(demand > inst.capacity_kw + 1e-9)[0]
    if tight.size:
        row_of = np.full(inst.n_slots, -1)
        row_of[tight] = np.arange(tight.size)
        sel = np.nonzero(row_of[t_idx] >= 0)[0]
        b.add_rows(
            tight.size,
            upper=inst.capacity_kw[tight],
            rows=row_of[t_idx[sel]],
            cols=p_cols[sel],
            values=np.ones(sel.size),
        )
    return ChargeLp(b.build(), p_cols, v_idx, t_idx, inst.n_vehicles, inst.n_slots)


def _total_rows(
    b: ModelBuilder,
    *,
    vehicles: IntArray,
    v_idx: IntArray,
    p_cols: IntArray,
    h: float,
    n_vehicles: int,
    lower: FloatArray | float = -np.inf,
    upper: FloatArray | float = np.inf,
    extra: IntArray | None = None,
) -> None:
    if vehicles.size == 0:
        return
    row_of = np.full(n_vehicles, -1)
    row_of[vehicles] = np.arange(vehicles.size)
    sel = np.nonzero(row_of[v_idx] >= 0)[0]
    rows = row_of[v_idx[sel]]
    cols = p_cols[sel]
    vals = np.full(sel.size, h)
    if extra is not None:
        rows = np.concatenate([rows, np.arange(vehicles.size)])
        cols = np.concatenate([cols, extra])
        vals = np.concatenate([vals, np.ones(vehicles.size)])
    b.add_rows(vehicles.size, lower=lower, upper=upper, rows=rows, cols=cols, values=vals)


def _build_spec(inst: ChargeInstance) -> ChargeLp:
    n_v, n_t, h = inst.n_vehicles, inst.n_slots, inst.slot_h
    b = ModelBuilder(Sense.MINIMIZE, f"charge-spec-{inst.site_id}")
    upper_p = np.where(inst.available, inst.rate_kw[:, None], 0.0)  # EQ-07/08 and EQ-09
    cost_p = np.broadcast_to(inst.cost_eur_per_kwh * h, (n_v, n_t))
    power = b.add_columns(n_v * n_t, cost=cost_p.ravel(), upper=upper_p.ravel())  # [v, t]
    # EQ-04, route-aware: cumulative_energy[v, t] (charged by the end of slot t) at most the
    # headroom plus the energy of the routes that left by then (the battery never overflows)
    cap = inst.energy_cap_kwh[:, 1:]
    energy = b.add_columns(n_v * n_t, upper=cap.ravel())  # cumulative_energy[v, t]
    short, unmet, enforce = _common_columns(b, inst)
    p = np.arange(power.start, power.stop).reshape(n_v, n_t)
    e = np.arange(energy.start, energy.stop).reshape(n_v, n_t)
    # cumulative energy: e[t] - e[t-1] - h p[t] = 0
    r = np.arange(n_v * n_t)
    prev = e[:, :-1].ravel()
    rows = np.concatenate([r, r, r.reshape(n_v, n_t)[:, 1:].ravel()])
    cols = np.concatenate([e.ravel(), p.ravel(), prev])
    vals = np.concatenate([np.ones(r.size), np.full(r.size, -h), -np.ones(prev.size)])
    b.add_rows(n_v * n_t, lower=0.0, upper=0.0, rows=rows, cols=cols, values=vals)
    # EQ-ROUTE with slack: e[k-1] + unmet >= enforceable (k = 0 leaves the slack alone)
    c = np.nonzero(enforce > 0)[0]
    if c.size:
        k = inst.cp_slot[c]
        has_e = k > 0
        rows = np.concatenate([np.nonzero(has_e)[0], np.arange(c.size)])
        cols = np.concatenate([e[inst.cp_vehicle[c][has_e], k[has_e] - 1], unmet.start + c])
        b.add_rows(c.size, lower=enforce[c], rows=rows, cols=cols, values=np.ones(rows.size))
    # shortfall_v >= need - e[T-1]
    if n_t:
        rows = np.concatenate([np.arange(n_v), np.arange(n_v)])
        cols = np.concatenate([e[:, -1], np.arange(short.start, short.stop)])
        b.add_rows(n_v, lower=inst.target_need_kwh, rows=rows, cols=cols, values=np.ones(2 * n_v))
    # EQ-02 site capacity
    b.add_rows(
        n_t,
        upper=inst.capacity_kw,
        rows=np.tile(np.arange(n_t), n_v),
        cols=p.ravel(),
        values=np.ones(n_v * n_t),
    )
    return ChargeLp(
        b.build(), p.ravel(), np.repeat(np.arange(n_v), n_t), np.tile(np.arange(n_t), n_v), n_v, n_t
    )
