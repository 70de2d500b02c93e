"""Holding a strategy's proposal to the dispatch invariants, whatever the strategy does."""

from __future__ import annotations

import numpy as np
import structlog
from numpy.typing import NDArray

from dispatch.errors import ConfigurationError

log = structlog.get_logger(__name__)

FloatArray = NDArray[np.float64]


def clamp_amounts(
    proposal: object,
    caps_kw: FloatArray,
    budget_kw: float,
    min_order_kw: float,
    *,
    strategy: str,
    signal_id: str,
) -> FloatArray:
    """``proposal`` as kW per candidate with ``0 <= x <= caps_kw`` and ``sum(x) <= budget_kw``
    (scaled down when over), amounts under ``min_order_kw`` dropped.

    A proposal of the wrong shape is a bug in the strategy and raises ConfigurationError; one
    that breaks a limit is clamped and logged, so a strategy can never break an invariant.
    """
    x = np.nan_to_num(np.asarray(proposal, dtype=np.float64))
    if x.shape != caps_kw.shape:
        raise ConfigurationError(
            f"{strategy} returned {x.shape} amounts for {caps_kw.shape[0]} vehicles",
            signal_id=signal_id,
        )
    clamped = np.clip(x, 0.0, caps_kw)
    total = float(clamped.sum())
    if total > budget_kw:
        clamped *= budget_kw / total
    if not np.allclose(clamped, x, rtol=1e-9, atol=1e-6):
        log.warning("proposal_clamped", strategy=strategy, signal_id=signal_id)
    clamped[clamped < min_order_kw] = 0.0
    return clamped
