"""The dispatcher port and the capped proportional fill that Equal and Smart share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from dispatch.candidates import Candidates
from dispatch.models import FlexibilitySignal
from dispatch.weights import WeightTable

FloatArray = NDArray[np.float64]

EPS_KW = 1e-9


@dataclass(frozen=True, eq=False)
class Allocation:
    """kW per candidate (index-aligned with :class:`Candidates`) and how it was reached."""

    power_kw: FloatArray
    rounds: int = 1
    solver: str | None = None
    objective: float | None = None
    notes: dict[str, float] = field(default_factory=dict)
    degraded: str | None = None  # why a fallback path produced this allocation

    @property
    def total_kw(self) -> float:
        """Sum of the allocation."""
        return float(self.power_kw.sum())


class Dispatcher(Protocol):
    """Splits ``signal.power_kw`` over ``candidates``: never more than a vehicle's
    effective capacity, never more than the signal in total. Pure and synchronous: the
    manager runs it off the event loop.
    """

    name: str

    def allocate(self, signal: FlexibilitySignal, candidates: Candidates) -> Allocation:
        """The power for each candidate."""
        ...


class WeightedDispatcher(Dispatcher, Protocol):
    """A dispatcher whose scoring weights a :class:`~dispatch.tuner.LearningTuner` may adapt."""

    weights: WeightTable


def proportional_fill(
    total_kw: float, weights: FloatArray, caps_kw: FloatArray, max_rounds: int
) -> tuple[FloatArray, int]:
    """Split ``total_kw`` in proportion to ``weights``, capped by ``caps_kw``.

    Each round shares what is left over the vehicles that still have room, in proportion to
    their weight; a vehicle whose share exceeds its room is capped and the excess goes to the
    next round. After ``max_rounds`` rounds, any power still left goes to the vehicles with
    room in decreasing weight order, so the result always allocates
    ``min(total_kw, sum(caps_kw))``. Returns the allocation and the rounds used.
    """
    caps = np.maximum(caps_kw, 0.0)
    alloc = np.zeros_like(caps)
    remaining = min(float(total_kw), float(caps.sum()))
    rounds = 0
    w = np.where(weights > 0, weights, 0.0)
    while remaining > EPS_KW and rounds < max_rounds:
        room = caps - alloc
        open_ = (room > EPS_KW) & (w > 0)
        if not open_.any():
            break
        rounds += 1
        share = np.zeros_like(caps)
        share[open_] = remaining * w[open_] / w[open_].sum()
        give = np.minimum(share, room)
        alloc += give
        remaining -= float(give.sum())
    if remaining > EPS_KW:
        # sweep: bounded rounds are spent; fill by weight, then by room, in one pass
        room = caps - alloc
        order = np.lexsort((-room, -w))
        cum = np.cumsum(room[order])
        take = np.clip(remaining - (cum - room[order]), 0.0, room[order])
        alloc[order] += take
    return np.minimum(alloc, caps), rounds
