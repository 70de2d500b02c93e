"""The dispatchers and fallbacks the application can be configured with, by name."""

from __future__ import annotations

from collections.abc import Callable

from dispatch import (
    BalancedFallback,
    Dispatcher,
    EqualDispatcher,
    Fallback,
    LPDispatcher,
    NoopFallback,
    ProbabilisticFallback,
    SmartDispatcher,
)

DISPATCHERS: dict[str, Callable[[], Dispatcher]] = {
    "equal": EqualDispatcher,
    "smart": SmartDispatcher,
    "lp": LPDispatcher,
}
FALLBACKS: dict[str, Callable[[], Fallback]] = {
    "noop": NoopFallback,
    "balanced": BalancedFallback,
    "probabilistic": ProbabilisticFallback,
}
