"""What each vehicle could reach on its own, and the requirements relaxed to that.

A checkpoint is physically impossible when, even alone at the site, the vehicle cannot charge
its required energy before departure: too few available slots, too low a rate, too little site
capacity in those slots, or a battery too small. Such a checkpoint is relaxed to the reachable
energy before solving, and the difference is reported. Competition between vehicles for site
capacity is handled in the model itself (a penalised slack per checkpoint).
"""

from __future__ import annotations

import numpy as np

from scheduling.instance import ChargeInstance
from solvers.model import FloatArray


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
    out: FloatArray = np.minimum(reach, inst.headroom_kwh[inst.cp_vehicle])
    return out


def enforceable_kwh(inst: ChargeInstance) -> FloatArray:
    """(C,) required energy relaxed to what is physically reachable."""
    return np.minimum(inst.cp_required_kwh, reachable_kwh(inst))
