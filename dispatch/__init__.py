"""Dispatch: from a flexibility signal to acknowledged orders, with fallbacks."""

from dispatch.acks import AckVerdict
from dispatch.candidates import Candidates
from dispatch.dispatchers import (
    Allocation,
    Dispatcher,
    EqualDispatcher,
    GroupLimit,
    LPDispatcher,
    SmartDispatcher,
)
from dispatch.errors import ConfigurationError, DispatchError, PublishError
from dispatch.fallbacks import BalancedFallback, Fallback, NoopFallback, ProbabilisticFallback
from dispatch.filters import SimpleVehicleFilter, VehicleFilter
from dispatch.manager import DispatchManager
from dispatch.models import (
    Ack,
    AckStatus,
    DispatchResult,
    DispatchStatus,
    FlexibilitySignal,
    Order,
    Outcome,
    VehicleOutcome,
)
from dispatch.participation import ParticipationTracker
from dispatch.ports import Clock, DispatchJournal, JournalError, NopJournal, Publisher
from dispatch.tuner import LearningTuner, OutcomeTuner
from dispatch.weights import Weights, WeightTable

__all__ = [
    "Ack",
    "AckStatus",
    "AckVerdict",
    "Allocation",
    "BalancedFallback",
    "Candidates",
    "Clock",
    "ConfigurationError",
    "DispatchError",
    "DispatchJournal",
    "DispatchManager",
    "DispatchResult",
    "DispatchStatus",
    "Dispatcher",
    "EqualDispatcher",
    "Fallback",
    "FlexibilitySignal",
    "GroupLimit",
    "JournalError",
    "LPDispatcher",
    "LearningTuner",
    "NoopFallback",
    "NopJournal",
    "Order",
    "Outcome",
    "OutcomeTuner",
    "ParticipationTracker",
    "ProbabilisticFallback",
    "PublishError",
    "Publisher",
    "SimpleVehicleFilter",
    "SmartDispatcher",
    "VehicleFilter",
    "VehicleOutcome",
    "WeightTable",
    "Weights",
]
