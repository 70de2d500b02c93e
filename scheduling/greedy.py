"""The greedy fallback: cheapest effective-price slots first, one vehicle at a time.

Vehicles are served by urgency (earliest departure needing energy first). For each vehicle,
each checkpoint in departure order takes the energy it still lacks from the cheapest available
slots before its departure, within the vehicle's rate, the site capacity left and the battery
caps (energy charged before a departure at most the headroom plus the earlier routes' energy);
then the target-SoC energy comes from the cheapest slots priced below the shortfall penalty,
and slots with a negative price fill the battery. The result respects every hard constraint;
energy it could not place is reported as unmet.
"""

from __future__ import annotations

import numpy as np

from scheduling.feasibility import binding_caps, enforceable_kwh
from scheduling.instance import ChargeInstance
from solvers.model import FloatArray

_CAP_TOL_KWH = 1e-9


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
    binds, _ = binding_caps(inst)
    first_need = np.full(n_v, n_t + 1)
    needing = enforce > 0
    np.minimum.at(first_need, inst.cp_vehicle[needing], inst.cp_slot[needing])
    order = np.lexsort((-inst.target_need_kwh, first_need))
    cps_of: dict[int, list[int]] = {}
    for c in np.argsort(inst.cp_slot, kind="stable"):
        cps_of.setdefault(int(inst.cp_vehicle[c]), []).append(int(c))
    caps_of: dict[int, list[tuple[int, float]]] = {}
    for c in np.nonzero(binds)[0].tolist():  # in vehicle, then departure order
        cap = (int(inst.cp_slot[c]), float(inst.cp_cap_kwh[c]))
        caps_of.setdefault(int(inst.cp_vehicle[c]), []).append(cap)
    # the same for every vehicle: slots worth charging for the target, slots paid to charge
    cheap = by_cost[cost[by_cost] < inst.shortfall_penalty_eur_per_kwh]
    negative = by_cost[cost[by_cost] < 0]
    for v in order:
        if inst.rate_kw[v] <= 0:
            continue
        charge = _Charger(
            float(inst.rate_kw[v]),
            power[v],
            site_left,
            inst.available[v],
            h,
            caps=caps_of.get(int(v), []),
        )
        total = 0.0
        for c in cps_of.get(int(v), []):
            k = inst.cp_slot[c]
            total += charge(enforce[c] - float(power[v, :k].sum()) * h, by_cost[by_cost < k])
        # the cap at the window's end bounds the total, which every slot adds to
        final = float(inst.final_cap_kwh[v])
        total += charge(min(inst.target_need_kwh[v], final) - total, cheap)
        charge(final - total, negative)
    return power


class _Charger:
    """Adds one vehicle's charging, cheapest slots first, within its rate and the site's.

    ``caps`` are the battery caps that can bind for the vehicle, as ``(k, cap)``: the energy
    charged in slots before ``k`` stays at most ``cap``.
    """

    def __init__(
        self,
        rate_kw: float,
        row: FloatArray,
        site_left: FloatArray,
        available: np.ndarray,
        h: float,
        *,
        caps: list[tuple[int, float]],
    ) -> None:
        self.rate_kw, self.row, self.site_left, self.available, self.h = (
            rate_kw,
            row,
            site_left,
            available,
            h,
        )
        self.caps = caps
        self.lowest_cap = min((cap for _, cap in caps), default=np.inf)
        self.charged = 0.0  # kWh added so far (the greedy serves each vehicle once)

    def __call__(self, need_kwh: float, slots: np.ndarray) -> float:
        """Charge up to ``need_kwh`` in ``slots`` (cost order); returns the kWh added."""
        if need_kwh <= 0 or slots.size == 0:
            return 0.0
        room = _room(self.rate_kw, self.row, self.site_left, self.available)
        add, got = _fill(need_kwh, slots, room, self.h)
        # a cap counts part of what is charged: only a total past the lowest cap can pass one
        if got > 0 and self.charged + got > self.lowest_cap - _CAP_TOL_KWH:
            add, got = self._within_caps(add, got, need_kwh, slots, room)
        self.row += add
        self.site_left -= add
        self.charged += got
        return got

    def _within_caps(
        self, add: FloatArray, got: float, need_kwh: float, slots: np.ndarray, room: FloatArray
    ) -> tuple[FloatArray, float]:
        """``add`` when it keeps every cap, else the cheapest-first fill that does."""
        h = self.h
        charged = np.concatenate([[0.0], np.cumsum(self.row) * h])
        added = np.concatenate([[0.0], np.cumsum(add) * h])
        ks = [k for k, _ in self.caps]
        slack = [cap - float(charged[k]) for k, cap in self.caps]
        if all(float(added[k]) <= s + _CAP_TOL_KWH for k, s in zip(ks, slack, strict=True)):
            return add, got
        # energy in slot s counts toward every cap with k > s: take, in cost order, what the
        # slot, the need and the tightest of those caps allow (greedy on nested prefix caps)
        out = np.zeros_like(add)
        left = need_kwh
        for s in slots.tolist():
            if left <= 0:
                break
            later = [j for j, k in enumerate(ks) if k > s]
            take = min(float(room[s]) * h, left, *(slack[j] for j in later))
            if take <= 0:
                continue
            for j in later:
                slack[j] -= take
            out[s] = take / h
            left -= take
        return out, need_kwh - left
