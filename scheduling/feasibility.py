"""What each vehicle could reach on its own, and the requirements relaxed to that.

A checkpoint is physically impossible when, even alone at the site, the vehicle cannot charge
its required energy before departure: too few available slots, too low a rate, too little site
capacity in those slots, or a battery too small. Such a checkpoint is relaxed to the reachable
energy before solving, and the difference is reported. Competition between vehicles for site
capacity is handled in the model itself (a penalised slack per checkpoint).

The battery bounds what is reachable through the cumulative cap of every earlier departure of
the vehicle (:attr:`ChargeInstance.cp_cap_kwh`): energy charged by departure ``j`` is at most
``cap_j``, and between departures ``j`` and ``c`` at most what the slots in between deliver, so

    reach_c = min(R(k_c), min over j <= c of cap_j + R(k_c) - R(k_j))

with ``R(k)`` the energy the vehicle alone can charge in slots ``0 .. k - 1``. Charging at full
rate in the last slots before ``k_c`` attains it, and meeting each checkpoint alone means
meeting all of them together (the caps of later departures are never below an earlier
requirement unless the reserve exceeds the battery).
"""

from __future__ import annotations

import numpy as np

from scheduling.instance import BoolArray, ChargeInstance, IntArray
from solvers.model import FloatArray


def vehicle_prefix_min(
    values: FloatArray, vehicle: IntArray, n_vehicles: int, *, inclusive: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Running minimum of ``values`` over each vehicle's checkpoints.

    Returns the (C,) minimum over the vehicle's checkpoints up to this one (``inclusive``) or
    before it (``inf`` for its first), and the (V,) minimum over all of them (``inf`` for a
    vehicle without checkpoints). Checkpoints are grouped by vehicle (as in
    :class:`ChargeInstance`); the loop runs once per checkpoint rank, i.e. as often as the
    busiest vehicle has departures.
    """
    out = np.empty_like(values)
    running = np.full(n_vehicles, np.inf)
    if values.size == 0:
        return out, running
    index = np.arange(values.size)
    starts = np.concatenate([[True], vehicle[1:] != vehicle[:-1]])
    rank = index - np.maximum.accumulate(np.where(starts, index, 0))
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(int(rank.max()) + 2))
    for r in range(bounds.size - 1):
        sel = order[bounds[r] : bounds[r + 1]]
        v = vehicle[sel]
        if not inclusive:
            out[sel] = running[v]
        running[v] = np.minimum(running[v], values[sel])
        if inclusive:
            out[sel] = running[v]
    return out, running


def capped_reach(
    prefix_kwh: FloatArray, cap_kwh: FloatArray, vehicle: IntArray, n_vehicles: int
) -> FloatArray:
    """(C,) most energy by each checkpoint given the caps of it and the vehicle's earlier ones.

    ``prefix_kwh[c]`` is what the vehicle can charge before checkpoint ``c`` without caps.
    """
    slack, _ = vehicle_prefix_min(cap_kwh - prefix_kwh, vehicle, n_vehicles)
    out: FloatArray = np.minimum(prefix_kwh + np.minimum(slack, 0.0), cap_kwh)
    return out


def binding_caps(inst: ChargeInstance, tol: float = 1e-9) -> tuple[BoolArray, BoolArray]:
    """Which battery caps a plan could pass: (C,) at each departure, (V,) at the window's end.

    A cap can bind only when the vehicle, at full rate in every available slot and within the
    caps of its earlier departures, would charge more than it by then; the others hold for
    every plan that respects the binding ones, and need neither a row nor tracking.
    """
    usable = np.where(inst.available, inst.rate_kw[:, None] * inst.slot_h, 0.0)
    prefix = np.concatenate([np.zeros((inst.n_vehicles, 1)), np.cumsum(usable, axis=1)], axis=1)
    at_cp = prefix[inst.cp_vehicle, inst.cp_slot]
    slack, last = vehicle_prefix_min(
        inst.cp_cap_kwh - at_cp, inst.cp_vehicle, inst.n_vehicles, inclusive=False
    )
    cp_binds = at_cp + np.minimum(slack, 0.0) > inst.cp_cap_kwh + tol
    final_binds = prefix[:, -1] + np.minimum(last, 0.0) > inst.final_cap_kwh + tol
    return cp_binds, final_binds


def reachable_kwh(inst: ChargeInstance) -> FloatArray:
    """(C,) most energy each checkpoint's vehicle can hold by its departure, alone at the site."""
    if inst.cp_vehicle.size == 0:
        return np.zeros(0)
    per_slot = (
        np.where(
            inst.available[inst.cp_vehicle],
            np.minimum(inst.rate_kw[inst.cp_vehicle, None], inst.capacity_kw[None, :]),
            0.0,
        )
        * inst.slot_h
    )
    cum = np.concatenate([np.zeros((per_slot.shape[0], 1)), np.cumsum(per_slot, axis=1)], axis=1)
    reach = cum[np.arange(per_slot.shape[0]), inst.cp_slot]
    return capped_reach(reach, inst.cp_cap_kwh, inst.cp_vehicle, inst.n_vehicles)


def enforceable_kwh(inst: ChargeInstance) -> FloatArray:
    """(C,) required energy relaxed to what is physically reachable."""
    return np.minimum(inst.cp_required_kwh, reachable_kwh(inst))
