"""The dispatch vocabulary: signals in, orders out, acks back, one result per signal.

Power is a non-negative magnitude in kW with an explicit direction (see
:class:`fleet.Direction`); times are timezone-aware UTC. ``FlexibilitySignal`` arrives from
outside and is a pydantic model; orders, acks and results are created by the service in bulk
(10^4 per dispatch) and are immutable named tuples or frozen dataclasses that check
themselves; adapters validate them at the wire with ``pydantic.TypeAdapter``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, NamedTuple, Self

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from fleet import Direction
from fleet.vehicle import Identifier

SignalType = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]

MAX_SIGNAL_DURATION_S = 24 * 3600


class FlexibilitySignal(BaseModel):
    """A grid operator's request to move a site's power for a period.

    ``signal_id`` is the operator's idempotency key: the same id is dispatched once.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    signal_id: Identifier
    site_id: Identifier = Field(validation_alias=AliasChoices("site_id", "site"))
    type: SignalType = "generic"
    direction: Direction
    power_kw: Annotated[float, Field(gt=0.0)]
    start: AwareDatetime
    duration_s: Annotated[float, Field(gt=0.0, le=MAX_SIGNAL_DURATION_S)]

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def end(self) -> datetime:
        """When the requested period ends."""
        return self.start + timedelta(seconds=self.duration_s)

    @property
    def duration_h(self) -> float:
        """Length of the period in hours."""
        return self.duration_s / 3600.0


class AckStatus(enum.StrEnum):
    """A vehicle's answer to an order."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class _OrderFields(NamedTuple):
    order_id: str
    signal_id: str
    site_id: str
    vehicle_id: str
    direction: Direction
    power_kw: float
    start: datetime
    end: datetime
    expires_at: datetime
    round: int = 0


class Order(_OrderFields):
    """One vehicle's share of a signal. Orders for the same signal add up (incremental).

    Immutable (a named tuple: a dispatch creates one per vehicle, so it must be cheap) and
    checked on construction.
    """

    __slots__ = ()

    def __new__(  # noqa: PLR0917  (the fields, in order)
        cls,
        order_id: str,
        signal_id: str,
        site_id: str,
        vehicle_id: str,
        direction: Direction,
        power_kw: float,
        start: datetime,
        end: datetime,
        expires_at: datetime,
        round: int = 0,
    ) -> Self:
        if not (power_kw >= 0.0 and math.isfinite(power_kw)):
            raise ValueError(f"order {order_id}: power_kw must be >= 0, got {power_kw}")
        if end <= start:
            raise ValueError(f"order {order_id}: end must be after start")
        return super().__new__(
            cls,
            order_id,
            signal_id,
            site_id,
            vehicle_id,
            direction,
            power_kw,
            start,
            end,
            expires_at,
            round,
        )


@dataclass(frozen=True, slots=True)
class Ack:
    """A vehicle's answer to one order; ``accepted_kw`` is what it commits to deliver."""

    order_id: str
    vehicle_id: str
    status: AckStatus
    accepted_kw: float = 0.0
    reason: str | None = None

    def __post_init__(self) -> None:
        if not (self.accepted_kw >= 0.0 and math.isfinite(self.accepted_kw)):
            raise ValueError(
                f"ack {self.order_id}: accepted_kw must be >= 0, got {self.accepted_kw}"
            )


class Outcome(enum.StrEnum):
    """What became of a vehicle's orders in one dispatch (totals over every round)."""

    ACCEPTED = "accepted"  # acknowledged everything ordered
    PARTIAL = "partial"  # acknowledged part of what was ordered
    REJECTED = "rejected"  # refused
    TIMEOUT = "timeout"  # no answer before the order expired
    UNSENT = "unsent"  # the transport could not publish the order


class DispatchStatus(enum.StrEnum):
    """How much of the requested power was acknowledged."""

    FULFILLED = "fulfilled"
    PARTIAL = "partial"
    FAILED = "failed"


class VehicleOutcome(NamedTuple):
    """A vehicle's part in a dispatch (immutable; one per ordered vehicle)."""

    vehicle_id: str
    ordered_kw: float
    acknowledged_kw: float
    outcome: Outcome
    orders: int = 1


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """The answer to one signal, reported back to the operator.

    ``allocated_kw`` is what the dispatcher ordered in the first round (never more than
    ``requested_kw``); ``reallocated_kw`` is what the fallback ordered in later rounds to
    replace refused or missing power; ``acknowledged_kw`` is what the vehicles committed to.
    Only the probabilistic fallback over-allocates on purpose (bounded), so only with it can
    ``acknowledged_kw`` exceed ``requested_kw``.
    """

    signal_id: str
    site_id: str
    status: DispatchStatus
    requested_kw: float
    allocated_kw: float
    acknowledged_kw: float
    dispatcher: str
    fallback: str
    rounds: int
    started_at: datetime
    finished_at: datetime
    reallocated_kw: float = 0.0
    vehicles: tuple[VehicleOutcome, ...] = ()
    eligible_vehicles: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    late_acks: int = 0
    duplicate_acks: int = 0
    reason: str | None = None

    @property
    def duration_s(self) -> float:
        """Signal received to result ready, in seconds."""
        return (self.finished_at - self.started_at).total_seconds()
