"""The greedy fallback: cheapest effective-price slots first, one vehicle at a time.

Vehicles are served by urgency (earliest departure needing energy first). For each vehicle,
each checkpoint in departure order takes the energy it still lacks from the cheapest available
slots before its departure, within the vehicle's rate and the site capacity left; then the
target-SoC energy comes from the cheapest slots priced below the shortfall penalty, and slots
with a negative price fill the battery. The result respects every hard constraint; energy it
could not place is reported as unmet.
"""

from __future__ import annotations

import numpy as np

from scheduling.feasibility import enforceable_kwh
from scheduling.instance import ChargeInstance
from solvers.model import FloatArray


def _fill(
    need_kwh: float, slots: np.ndarray, room_kw: FloatArray, h: float
) -> tuple[FloatArray, float]:
    """Power added to ``slots`` (cheapest first) to charge up to ``need_kwh``."""
    add = np.zeros_like(room_kw)
    if need_kwh <= 0 or slots.size == 0:
        return add, 0.0
    kwh = room_kw[slots] * h
    before = np.cumsum(kwh) - kwh
    take = np.clip(need_kwh - before, 0.0, kwh)
    add[slots] = take / h
    return add, float(take.sum())


def _room(
    rate_kw: float, row: FloatArray, site_left: FloatArray, available: np.ndarray
) -> FloatArray:
    """Power a vehicle can still add per slot: its rate left, the site's, availability."""
    free = np.minimum(rate_kw - row, site_left)
    return np.where(available, np.maximum(free, 0.0), 0.0)


def greedy_power(inst: ChargeInstance) -> FloatArray:
    """(V, T) charging power of the greedy plan."""
    n_v, n_t, h = inst.n_vehicles, inst.n_slots, inst.slot_h
    cost = inst.cost_eur_per_kwh
    by_cost = np.argsort(cost, kind="stable")
    site_left = inst.capacity_kw.copy()
    power = np.zeros((n_v, n_t))
    enforce = enforceable_kwh(inst)
    first_need = np.full(n_v, n_t + 1)
    needing = enforce > 0
    np.minimum.at(first_need, inst.cp_vehicle[needing], inst.cp_slot[needing])
    order = np.lexsort((-inst.target_need_kwh, first_need))
    cps_of: dict[int, list[int]] = {}
    for c in np.argsort(inst.cp_slot, kind="stable"):
        cps_of.setdefault(int(inst.cp_vehicle[c]), []).append(int(c))
    # the same for every vehicle: slots worth charging for the target, slots paid to charge
    cheap = by_cost[cost[by_cost] < inst.shortfall_penalty_eur_per_kwh]
    negative = by_cost[cost[by_cost] < 0]
    for v in order:
        if inst.rate_kw[v] <= 0:
            continue
        charge = _Charger(float(inst.rate_kw[v]), power[v], site_left, inst.available[v], h)
        total = 0.0
        for c in cps_of.get(int(v), []):
            k = inst.cp_slot[c]
            total += charge(enforce[c] - float(power[v, :k].sum()) * h, by_cost[by_cost < k])
        budget = inst.headroom_kwh[v] - total
        total += charge(min(inst.target_need_kwh[v] - total, budget), cheap)
        charge(inst.headroom_kwh[v] - total, negative)
    return power


class _Charger:
    """Adds one vehicle's charging, cheapest slots first, within its rate and the site's."""

    def __init__(
        self,
        rate_kw: float,
        row: FloatArray,
        site_left: FloatArray,
        available: np.ndarray,
        h: float,
    ) -> None:
        self.rate_kw, self.row, self.site_left, self.available, self.h = (
            rate_kw,
            row,
            site_left,
            available,
            h,
        )

    def __call__(self, need_kwh: float, slots: np.ndarray) -> float:
        """Charge up to ``need_kwh`` in ``slots`` (cost order); returns the kWh added."""
        if need_kwh <= 0 or slots.size == 0:
            return 0.0
        room = _room(self.rate_kw, self.row, self.site_left, self.available)
        add, got = _fill(need_kwh, slots, room, self.h)
        self.row += add
        self.site_left -= add
        return got
