"""Dispatchers split a signal's power over the eligible vehicles."""

from dispatch.dispatchers.base import Allocation, Dispatcher, WeightedDispatcher, proportional_fill
from dispatch.dispatchers.equal import EqualDispatcher
from dispatch.dispatchers.lp import GroupLimit, LPDispatcher
from dispatch.dispatchers.smart import SmartDispatcher

__all__ = [
    "Allocation",
    "Dispatcher",
    "EqualDispatcher",
    "GroupLimit",
    "LPDispatcher",
    "SmartDispatcher",
    "WeightedDispatcher",
    "proportional_fill",
]
