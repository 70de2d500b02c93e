"""Probabilistic fallback: over-allocate so the *expected* delivered power meets the residual.

Model. Vehicle ``v`` honours a follow-up order of ``x_v`` kW with probability ``p_v`` and then
delivers all of it, else nothing. ``p_v`` is the vehicle's estimated ``availability``, or
``responsive_probability`` (default 0.98) for a vehicle that has just acknowledged an order of
this dispatch. The order is capped by the vehicle's remaining effective capacity (which
already accounts for degradation and SoC limits). We choose orders with

    sum_v p_v * x_v >= R          (expected delivery meets the residual R)
    0 <= x_v <= remaining_v
    sum_v x_v <= (1 + max_overallocation) * R

and the least nominal power: the fractional-knapsack solution, filling the most reliable
vehicles first (ties: more room first). The total ordered may exceed ``R`` by at most
``max_overallocation`` (default 25 %); when even that cannot reach the expectation, every
bit of the bounded over-allocation is used. Candidates are every vehicle that may receive an
order: responders with room left and eligible vehicles not ordered yet.
"""

from __future__ import annotations

import numpy as np

from dispatch.fallbacks.base import FallbackContext, FloatArray


class ProbabilisticFallback:
    """See the module docstring for the model."""

    name = "probabilistic"

    def __init__(
        self, max_overallocation: float = 0.25, responsive_probability: float = 0.98
    ) -> None:
        if not 0 <= max_overallocation <= 1:
            raise ValueError("max_overallocation must be in [0, 1]")
        if not 0 < responsive_probability <= 1:
            raise ValueError("responsive_probability must be in (0, 1]")
        self.max_overallocation = max_overallocation
        self.responsive_probability = responsive_probability

    def probabilities(self, ctx: FallbackContext) -> FloatArray:
        """``p_v`` for every candidate."""
        availability = ctx.candidates.feature("availability")
        return np.where(
            ctx.responded, np.maximum(availability, self.responsive_probability), availability
        )

    def reallocate(self, ctx: FallbackContext) -> FloatArray:
        """Most reliable first until the expected delivery covers the residual."""
        room = ctx.remaining_kw
        p = self.probabilities(ctx)
        usable = (room > 0) & (p > 0)
        extra = np.zeros_like(room)
        target = ctx.residual_kw
        budget = (1.0 + self.max_overallocation) * target
        for i in np.lexsort((-room, -p)):
            if target <= 1e-9 or budget <= 1e-9:
                break
            if not usable[i]:
                continue
            x = min(float(room[i]), target / float(p[i]), budget)
            extra[i] = x
            target -= x * float(p[i])
            budget -= x
        return extra
