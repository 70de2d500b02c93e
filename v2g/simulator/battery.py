"""How a simulated battery's SoC moves while it executes an order (pure)."""

from __future__ import annotations

from fleet.vehicle import Direction, Vehicle


def soc_after(vehicle: Vehicle, direction: Direction, power_kw: float, seconds: float) -> float:
    """SoC in percent after ``power_kw`` in ``direction`` for ``seconds``, within its limits.

    ``delta_pct = power_kw * seconds / 3600 / usable_kwh * 100`` with
    ``usable_kwh = battery_kwh * (1 - degradation)`` (the capacity
    :meth:`fleet.vehicle.Vehicle.headroom_kwh` counts with). A discharge never takes the SoC
    below ``min_soc_pct`` and a charge never above ``max_soc_pct``; a SoC already past its
    limit stays where it is.
    """
    usable_kwh = vehicle.battery_kwh * (1.0 - vehicle.degradation)
    if usable_kwh <= 0.0 or power_kw <= 0.0 or seconds <= 0.0:
        return vehicle.soc_pct
    delta_pct = power_kw * seconds / 3600.0 / usable_kwh * 100.0
    soc = vehicle.soc_pct
    if direction is Direction.DISCHARGE:
        return max(min(soc, vehicle.min_soc_pct), soc - delta_pct)
    return min(max(soc, vehicle.max_soc_pct), soc + delta_pct)
