"""Balanced fallback: the residual goes to the vehicles that said yes."""

from __future__ import annotations

import numpy as np

from dispatch.dispatchers.base import proportional_fill
from dispatch.fallbacks.base import FallbackContext, FloatArray
from fleet import Direction


class BalancedFallback:
    """Redistributes the residual over the vehicles that acknowledged everything they were
    ordered, in proportion to ``remaining_kw * soc_weight`` and capped by ``remaining_kw``.

    ``soc_weight`` is ``soc / 100`` for a discharge (fuller batteries give more) and
    ``(100 - soc) / 100`` for a charge (emptier batteries take more). For a discharge,
    vehicles below ``min_soc_pct`` (default 30 %) are skipped. Never over-allocates.
    """

    name = "balanced"

    def __init__(self, min_soc_pct: float = 30.0, max_rounds: int = 10) -> None:
        if not 0 <= min_soc_pct <= 100:
            raise ValueError("min_soc_pct must be in [0, 100]")
        self.min_soc_pct = min_soc_pct
        self.max_rounds = max_rounds

    def reallocate(self, ctx: FallbackContext) -> FloatArray:
        """Follow-up kW for the responders."""
        soc = np.fromiter((v.soc_pct for v in ctx.candidates.vehicles), np.float64)
        room = np.where(ctx.responded, ctx.remaining_kw, 0.0)
        if ctx.signal.direction is Direction.DISCHARGE:
            room = np.where(soc >= self.min_soc_pct, room, 0.0)
            soc_weight = soc / 100.0
        else:
            soc_weight = (100.0 - soc) / 100.0
        extra, _ = proportional_fill(ctx.residual_kw, room * soc_weight, room, self.max_rounds)
        return extra
