"""Equal split: every eligible vehicle gets the same power, capped by its capacity."""

from __future__ import annotations

import numpy as np

from dispatch.candidates import Candidates
from dispatch.dispatchers.base import Allocation, proportional_fill
from dispatch.errors import ConfigurationError
from dispatch.models import FlexibilitySignal


class EqualDispatcher:
    """``signal.power_kw / n`` each; what capped vehicles cannot take is shared again among
    the others, in at most ``max_rounds`` rounds (see
    :func:`~dispatch.dispatchers.base.proportional_fill`).
    """

    name = "equal"

    def __init__(self, max_rounds: int = 10) -> None:
        if max_rounds < 1:
            raise ConfigurationError("max_rounds must be >= 1")
        self.max_rounds = max_rounds

    def allocate(self, signal: FlexibilitySignal, candidates: Candidates) -> Allocation:
        """Equal shares, capped and redistributed."""
        power, rounds = proportional_fill(
            signal.power_kw,
            np.ones(len(candidates)),
            candidates.capacity_kw,
            self.max_rounds,
        )
        return Allocation(power, rounds)
