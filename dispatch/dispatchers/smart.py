"""Smart split: power in proportion to a weighted score of the vehicles' features."""

from __future__ import annotations

import numpy as np

from dispatch.candidates import Candidates
from dispatch.dispatchers.base import Allocation, proportional_fill
from dispatch.errors import ConfigurationError
from dispatch.models import FlexibilitySignal
from dispatch.weights import WeightTable

SCORE_FLOOR = 1e-3


class SmartDispatcher:
    """Each vehicle's share is proportional to its score ``features @ weights`` for the
    signal's type (weights from :attr:`weights`, adaptable by a tuner), capped by its capacity,
    with leftovers redistributed in at most ``max_rounds`` rounds.

    The participation feature ranks vehicles used often in recent dispatches lower, so the
    fleet shares the work. Every score is floored at ``SCORE_FLOOR`` so no eligible vehicle is
    left out when the others cannot cover the signal.
    """

    name = "smart"

    def __init__(self, weights: WeightTable | None = None, max_rounds: int = 10) -> None:
        if max_rounds < 1:
            raise ConfigurationError("max_rounds must be >= 1")
        self.weights = weights if weights is not None else WeightTable()
        self.max_rounds = max_rounds

    def allocate(self, signal: FlexibilitySignal, candidates: Candidates) -> Allocation:
        """Score-proportional shares, capped and redistributed."""
        scores = np.maximum(candidates.scores(self.weights.get(signal.type)), SCORE_FLOOR)
        power, rounds = proportional_fill(
            signal.power_kw, scores, candidates.capacity_kw, self.max_rounds
        )
        return Allocation(power, rounds, objective=float(scores @ power))
