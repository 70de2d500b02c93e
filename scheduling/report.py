"""Turn a power matrix into a :class:`ChargePlan`: SoC, costs, unmet routes, baseline."""

from __future__ import annotations

import numpy as np

from scheduling.feasibility import enforceable_kwh, reachable_kwh
from scheduling.instance import ChargeInstance
from scheduling.plan import (
    Baseline,
    ChargePlan,
    CostBreakdown,
    PlanStatus,
    UnmetReason,
    UnmetRequirement,
    VehiclePlan,
)
from solvers.model import FloatArray

ENERGY_TOL_KWH = 1e-6


def energy_at_departure(inst: ChargeInstance, power_kw: FloatArray) -> FloatArray:
    """(C,) energy charged before each checkpoint's departure."""
    cum = np.concatenate(
        [np.zeros((inst.n_vehicles, 1)), np.cumsum(power_kw * inst.slot_h, axis=1)], axis=1
    )
    return cum[inst.cp_vehicle, inst.cp_slot]


def uncontrolled_power(inst: ChargeInstance, energy_kwh: FloatArray) -> FloatArray:
    """(V, T) full rate in every available slot from the start until ``energy_kwh`` is in."""
    slot = inst.slot_kwh
    before = np.cumsum(slot, axis=1) - slot
    take = np.clip(energy_kwh[:, None] - before, 0.0, slot)
    return take / inst.slot_h


def _costs(inst: ChargeInstance, power_kw: FloatArray, at_dep: FloatArray) -> CostBreakdown:
    per_slot = power_kw.sum(axis=0) * inst.slot_h
    total = power_kw.sum(axis=1) * inst.slot_h
    shortfall = np.maximum(inst.target_need_kwh - total, 0.0)
    unmet = np.maximum(enforceable_kwh(inst) - at_dep, 0.0)
    return CostBreakdown(
        energy_eur=float(per_slot @ inst.price_eur_per_kwh),
        triad_eur=float(per_slot @ inst.triad_price_eur_per_kwh),
        time_preference_eur=float(per_slot @ inst.time_price_eur_per_kwh),
        shortfall_penalty_eur=float(shortfall.sum() * inst.shortfall_penalty_eur_per_kwh),
        unmet_penalty_eur=float(unmet.sum() * inst.unmet_penalty_eur_per_kwh),
    )


def _unmet(inst: ChargeInstance, at_dep: FloatArray) -> tuple[UnmetRequirement, ...]:
    reach = reachable_kwh(inst)
    out = []
    for c in np.nonzero(inst.cp_required_kwh - at_dep > ENERGY_TOL_KWH)[0]:
        physical = inst.cp_required_kwh[c] - reach[c] > ENERGY_TOL_KWH
        out.append(
            UnmetRequirement(
                vehicle_id=inst.vehicle_ids[inst.cp_vehicle[c]],
                route_id=inst.cp_route_id[c],
                departure=inst.cp_departure[c],
                required_kwh=float(inst.cp_required_kwh[c]),
                missing_kwh=float(inst.cp_required_kwh[c] - at_dep[c]),
                reason=UnmetReason.PHYSICAL if physical else UnmetReason.SITE_CAPACITY,
            )
        )
    return tuple(out)


def _soc_kwh(inst: ChargeInstance, power_kw: FloatArray) -> FloatArray:
    """(V, T+1) battery energy at slot boundaries.

    A route's energy leaves the battery at its departure: boundary ``t`` counts the routes that
    left before it, so the boundary of a departure's slot shows the energy the vehicle leaves
    with. Within the battery cap this never exceeds the battery, and it stays at or above 0
    (the reserve when there is one) when every route's energy is met.
    """
    charged = np.concatenate(
        [np.zeros((inst.n_vehicles, 1)), np.cumsum(power_kw * inst.slot_h, axis=1)], axis=1
    )
    out: FloatArray = inst.soc_kwh[:, None] + charged - inst.driven_kwh
    return out


def make_plan(
    inst: ChargeInstance,
    power_kw: FloatArray,
    *,
    solver: str,
    optimal: bool,
    runtime_s: float,
    fallback_reason: str | None = None,
) -> ChargePlan:
    """The plan of ``power_kw`` (V, T) for ``inst``."""
    at_dep = energy_at_departure(inst, power_kw)
    unmet = _unmet(inst, at_dep)
    if optimal:
        status = PlanStatus.OPTIMAL_WITH_UNMET if unmet else PlanStatus.OPTIMAL
    else:
        status = PlanStatus.FEASIBLE_WITH_UNMET if unmet else PlanStatus.FEASIBLE
    costs = _costs(inst, power_kw, at_dep)
    total = power_kw.sum(axis=1) * inst.slot_h
    base = uncontrolled_power(inst, total)
    base_slot = base.sum(axis=0) * inst.slot_h
    base_energy = float(base_slot @ inst.price_eur_per_kwh)
    base_triad = float(base_slot @ inst.triad_price_eur_per_kwh)
    soc = _soc_kwh(inst, power_kw)
    shortfall = np.maximum(inst.target_need_kwh - total, 0.0)
    vehicles = tuple(
        VehiclePlan(
            vehicle_id=vid,
            power_kw=tuple(float(p) for p in power_kw[i]),
            soc_kwh=tuple(float(s) for s in soc[i]),
            energy_kwh=float(total[i]),
            target_shortfall_kwh=float(shortfall[i]),
        )
        for i, vid in enumerate(inst.vehicle_ids)
    )
    return ChargePlan(
        site_id=inst.site_id,
        status=status,
        solver=solver,
        fallback_reason=fallback_reason,
        runtime_s=runtime_s,
        window_start=inst.window_start,
        slot_minutes=round(inst.slot_h * 60),
        n_slots=inst.n_slots,
        window=inst.window,
        price_eur_per_kwh=tuple(float(p) for p in inst.price_eur_per_kwh),
        headroom_kw=tuple(float(c) for c in inst.capacity_kw),
        vehicles=vehicles,
        unmet=unmet,
        costs=costs,
        baseline=Baseline(
            energy_eur=base_energy,
            triad_eur=base_triad,
            peak_site_kw=float(base.sum(axis=0).max(initial=0.0)),
            savings_eur=base_energy + base_triad - costs.energy_eur - costs.triad_eur,
        ),
    )
