"""Learning tuners adapt a dispatcher's weights per signal type from past outcomes.

:class:`OutcomeTuner` is a bounded, explainable update. After each dispatch, every ordered
vehicle is a sample with its features and a success in [0, 1] (acknowledged / ordered kW: 1
for a full accept, 0 for a refusal or timeout). For each feature ``k`` it compares the
success-weighted mean of the feature with the failure-weighted mean:

    evidence_k = mean(f_k | success) - mean(f_k | failure)        in [-1, 1]
    target    = project(w + learning_rate * evidence)
    w        <- w + alpha * (target - w),   alpha = min(1, learning_rate / max_k |target_k - w_k|)

where ``project`` is the Euclidean projection onto the weights that sum to 1 and lie in
``[min_weight, max_weight]``. A feature that separates the vehicles that delivered from those
that did not gains weight; one that misleads loses it. Nothing changes until a dispatch has
at least ``min_samples`` samples with both successes and failures; every weight stays in its
bounds and the weights sum to 1 (``w`` and ``target`` both do, so every point between them
does); a single step moves a weight by at most ``learning_rate``; and every step is kept
(``history``) with its evidence, so an operator can read why the weights are what they are.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from dispatch.weights import FEATURES, Weights, WeightTable

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TuningStep:
    """One explained weight update."""

    signal_type: str
    before: Weights
    after: Weights
    evidence: dict[str, float]
    samples: int

    def explain(self) -> str:
        """One line per feature: the weight change and the evidence behind it."""
        b, a = self.before.as_array(), self.after.as_array()
        return "; ".join(
            f"{name} {b[i]:.3f}->{a[i]:.3f} (evidence {self.evidence[name]:+.3f})"
            for i, name in enumerate(FEATURES)
        )


class LearningTuner(Protocol):
    """Adapts ``table`` for ``signal_type`` from one dispatch's samples."""

    def tune(
        self, table: WeightTable, signal_type: str, features: FloatArray, success: FloatArray
    ) -> TuningStep | None:
        """``features``: (n, len(FEATURES)); ``success``: (n,) in [0, 1]. None if unchanged."""
        ...


class OutcomeTuner:
    """The bounded update described in the module docstring."""

    def __init__(
        self,
        learning_rate: float = 0.05,
        min_weight: float = 0.02,
        max_weight: float = 0.6,
        min_samples: int = 5,
        history: int = 1000,
    ) -> None:
        if not 0 < learning_rate <= 0.5:
            raise ValueError("learning_rate must be in (0, 0.5]")
        if not 0 <= min_weight < max_weight <= 1:
            raise ValueError("need 0 <= min_weight < max_weight <= 1")
        if min_weight * len(FEATURES) > 1 or max_weight * len(FEATURES) < 1:
            raise ValueError("weight bounds leave no weights that sum to 1")
        self.learning_rate = learning_rate
        self.min_weight = min_weight
        self.max_weight = max_weight
        self.min_samples = min_samples
        self.history: deque[TuningStep] = deque(maxlen=history)

    def _project(self, v: FloatArray) -> FloatArray:
        """Euclidean projection of ``v`` onto {w : sum w = 1, min_weight <= w <= max_weight}.

        The projection is ``clip(v - tau)`` for the shift ``tau`` that makes the sum 1; the sum
        is monotone in ``tau``, so bisection finds it.
        """
        lo, hi = float(v.min()) - self.max_weight, float(v.max()) - self.min_weight
        for _ in range(100):
            tau = 0.5 * (lo + hi)
            if np.clip(v - tau, self.min_weight, self.max_weight).sum() > 1.0:
                lo = tau
            else:
                hi = tau
        return np.asarray(
            np.clip(v - 0.5 * (lo + hi), self.min_weight, self.max_weight), dtype=np.float64
        )

    def tune(
        self, table: WeightTable, signal_type: str, features: FloatArray, success: FloatArray
    ) -> TuningStep | None:
        """Apply one update for ``signal_type``; None when the evidence is insufficient."""
        s = np.clip(success, 0.0, 1.0)
        if s.size < self.min_samples or s.sum() <= 0 or (1 - s).sum() <= 0:
            return None
        ok = (s @ features) / s.sum()
        ko = ((1 - s) @ features) / (1 - s).sum()
        evidence = ok - ko
        before = table.get(signal_type)
        w = self._project(before.as_array())  # bring outside weights into bounds first
        target = self._project(w + self.learning_rate * evidence)
        move = float(np.abs(target - w).max())
        alpha = 1.0 if move <= self.learning_rate else self.learning_rate / move
        after = Weights.from_array(w + alpha * (target - w))
        table.set(signal_type, after)
        step = TuningStep(
            signal_type,
            before,
            table.get(signal_type),
            {name: float(evidence[i]) for i, name in enumerate(FEATURES)},
            int(s.size),
        )
        self.history.append(step)
        return step
