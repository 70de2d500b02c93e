"""Fallbacks reallocate the power that was refused or never acknowledged."""

from dispatch.fallbacks.balanced import BalancedFallback
from dispatch.fallbacks.base import Fallback, FallbackContext, NoopFallback
from dispatch.fallbacks.probabilistic import ProbabilisticFallback

__all__ = [
    "BalancedFallback",
    "Fallback",
    "FallbackContext",
    "NoopFallback",
    "ProbabilisticFallback",
]
