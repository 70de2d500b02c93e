"""The fallback port, what a fallback sees of the dispatch so far, and the no-op fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from dispatch.candidates import Candidates
from dispatch.models import FlexibilitySignal

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class FallbackContext:
    """The dispatch after a round, index-aligned with ``candidates``.

    ``may_receive`` marks the vehicles that may get a follow-up order: eligible, not booked by
    another signal since, and with no refusal, timeout, partial answer or send failure in this
    dispatch. ``responded`` marks those that acknowledged everything ordered so far (> 0 kW).
    """

    signal: FlexibilitySignal
    candidates: Candidates
    residual_kw: float
    ordered_kw: FloatArray
    acknowledged_kw: FloatArray
    may_receive: BoolArray
    responded: BoolArray
    round: int

    @property
    def remaining_kw(self) -> FloatArray:
        """Capacity left per vehicle (0 where no follow-up is allowed)."""
        room = np.maximum(self.candidates.capacity_kw - self.ordered_kw, 0.0)
        return np.where(self.may_receive, room, 0.0)


class Fallback(Protocol):
    """Returns follow-up orders (kW per candidate, index-aligned) for the residual power.

    Orders add to what a vehicle already has; each must stay within ``remaining_kw``.
    """

    name: str

    def reallocate(self, ctx: FallbackContext) -> FloatArray:
        """Additional kW per candidate (zeros for none)."""
        ...


class NoopFallback:
    """Leaves the assignment as it is."""

    name = "noop"

    def reallocate(self, ctx: FallbackContext) -> FloatArray:
        """No follow-up orders."""
        return np.zeros(len(ctx.candidates))
