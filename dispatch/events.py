"""Events the dispatch manager publishes on the event bus."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.models import DispatchResult, FlexibilitySignal


@dataclass(frozen=True, slots=True)
class DispatchEvent:
    """Base of every dispatch event; subscribe to it to receive them all."""

    signal_id: str
    site_id: str


@dataclass(frozen=True, slots=True)
class DispatchStarted(DispatchEvent):
    """A new signal is being dispatched."""

    signal: FlexibilitySignal


@dataclass(frozen=True, slots=True)
class OrdersSent(DispatchEvent):
    """A round of orders left (round 0 is the dispatcher's, later ones the fallback's)."""

    round: int
    orders: int
    power_kw: float
    unsent: int


@dataclass(frozen=True, slots=True)
class FallbackApplied(DispatchEvent):
    """The fallback reallocated a residual."""

    fallback: str
    round: int
    residual_kw: float
    reallocated_kw: float
    vehicles: int


@dataclass(frozen=True, slots=True)
class AckAnomaly(DispatchEvent):
    """An ack that was late, duplicated or sent by the wrong vehicle."""

    kind: str
    order_id: str
    vehicle_id: str


@dataclass(frozen=True, slots=True)
class DispatchCompleted(DispatchEvent):
    """A dispatch ended; the result is final."""

    result: DispatchResult
