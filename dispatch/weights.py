"""Weights of the scoring features, per signal type.

Every feature is normalised to [0, 1] with 1 the better candidate (see
:mod:`dispatch.candidates`), so a weight reads as "how much this feature matters" and a score
``features @ weights`` lies in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

FEATURES = ("soc", "capacity", "availability", "health", "participation")


@dataclass(frozen=True, slots=True)
class Weights:
    """Non-negative feature weights; :meth:`normalised` makes them sum to 1."""

    soc: float = 0.2
    capacity: float = 0.2
    availability: float = 0.2
    health: float = 0.2
    participation: float = 0.2

    def __post_init__(self) -> None:
        values = self.as_array()
        if np.any(values < 0) or not np.all(np.isfinite(values)):
            raise ValueError(f"weights must be finite and >= 0, got {self}")
        if values.sum() <= 0:
            raise ValueError("at least one weight must be positive")

    def as_array(self) -> NDArray[np.float64]:
        """The weights in :data:`FEATURES` order."""
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)

    @classmethod
    def from_array(cls, values: NDArray[np.float64]) -> Weights:
        """Build from an array in :data:`FEATURES` order."""
        return cls(*(float(v) for v in values))

    def normalised(self) -> Weights:
        """The same weights scaled to sum to 1."""
        values = self.as_array()
        return Weights.from_array(values / values.sum())


DEFAULT_WEIGHTS: Mapping[str, Weights] = {
    # long discharge: energy in the battery and power matter most
    "peak_shaving": Weights(soc=0.3, capacity=0.3, availability=0.2, health=0.1, participation=0.1),
    # short, fast response: the vehicle must be there and able to deliver power
    "frequency_response": Weights(
        soc=0.1, capacity=0.35, availability=0.35, health=0.1, participation=0.1
    ),
    # absorb surplus: room in the battery matters most
    "valley_filling": Weights(
        soc=0.35, capacity=0.25, availability=0.2, health=0.1, participation=0.1
    ),
    "generic": Weights(),
}


class WeightTable:
    """Mutable table signal type -> :class:`Weights`, with a default for unknown types.

    Dispatchers read it on every allocation; a :class:`~dispatch.tuner.LearningTuner` writes
    it between dispatches.
    """

    def __init__(
        self, weights: Mapping[str, Weights] | None = None, default: Weights | None = None
    ) -> None:
        source = DEFAULT_WEIGHTS if weights is None else weights
        self._table = {k: w.normalised() for k, w in source.items()}
        self.default = (default or source.get("generic") or Weights()).normalised()

    def get(self, signal_type: str) -> Weights:
        """Weights for ``signal_type`` (normalised)."""
        return self._table.get(signal_type, self.default)

    def set(self, signal_type: str, weights: Weights) -> None:
        """Replace the weights of ``signal_type``."""
        self._table[signal_type] = weights.normalised()

    def as_dict(self) -> dict[str, Weights]:
        """A copy of the explicit entries."""
        return dict(self._table)
