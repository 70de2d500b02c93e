"""What the dispatch journal gives back, and how its rows become domain values.

Signals are stored as their JSON (``t_signal.payload``), results as the JSON of the wire's
:class:`~v2g.mqtt.payloads.ResultPayload` (``t_result.payload``): an operator querying the
table sees the result exactly as it was published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.acks import AckVerdict
from dispatch.models import (
    Ack,
    AckStatus,
    DispatchResult,
    FlexibilitySignal,
    Order,
    VehicleOutcome,
)
from fleet import Direction
from v2g.mqtt.payloads import ResultPayload
from v2g.storage.database import Row
from v2g.storage.errors import StorageError


class JournalConflictError(StorageError):
    """A signal id is journaled as in flight already (it cannot be dispatched twice)."""

    def __init__(self, signal_id: str) -> None:
        self.signal_id = signal_id
        super().__init__(f"signal {signal_id} is already in flight in the journal")


@dataclass(frozen=True, slots=True)
class JournaledAck:
    """An ack as it was journaled: the ack, its verdict then, and when it came."""

    ack: Ack
    verdict: AckVerdict
    received_at: datetime


@dataclass(frozen=True, slots=True)
class InFlightDispatch:
    """A dispatch journaled as started and not finished: what a restart must complete."""

    signal: FlexibilitySignal
    dispatcher: str
    fallback: str
    ack_timeout_s: float
    received_at: datetime
    orders: tuple[Order, ...]
    acks: tuple[JournaledAck, ...]


@dataclass(frozen=True, slots=True)
class Commitment:
    """A vehicle that acknowledged power for a signal whose period has not ended."""

    site_id: str
    signal_id: str
    vehicle_id: str
    start: datetime
    end: datetime


def signal_json(signal: FlexibilitySignal) -> str:
    """The JSON stored in ``t_signal.payload``."""
    return signal.model_dump_json()


def signal_from(raw: str) -> FlexibilitySignal:
    """The signal of a ``t_signal.payload``."""
    return FlexibilitySignal.model_validate_json(raw)


def result_json(result: DispatchResult) -> str:
    """The JSON stored in ``t_result.payload``: the published form."""
    return ResultPayload.from_result(result).model_dump_json()


def result_from(raw: str) -> DispatchResult:
    """The :class:`DispatchResult` of a ``t_result.payload``."""
    wire = ResultPayload.model_validate_json(raw)
    return DispatchResult(
        signal_id=wire.signal_id,
        site_id=wire.site_id,
        status=wire.status,
        requested_kw=wire.requested_kw,
        allocated_kw=wire.allocated_kw,
        acknowledged_kw=wire.acknowledged_kw,
        dispatcher=wire.dispatcher,
        fallback=wire.fallback,
        rounds=wire.rounds,
        started_at=wire.started_at,
        finished_at=wire.finished_at,
        reallocated_kw=wire.reallocated_kw,
        vehicles=tuple(
            VehicleOutcome(v.vehicle_id, v.ordered_kw, v.acknowledged_kw, v.outcome, v.orders)
            for v in wire.vehicles
        ),
        eligible_vehicles=wire.eligible_vehicles,
        excluded=dict(wire.excluded),
        late_acks=wire.late_acks,
        duplicate_acks=wire.duplicate_acks,
        reason=wire.reason,
    )


def order_from(row: Row) -> Order:
    """The :class:`Order` of a ``t_order`` row."""
    return Order(
        row["order_id"],
        row["signal_id"],
        row["site_id"],
        row["vehicle_id"],
        Direction(row["direction"]),
        float(row["power_kw"]),
        row["start_at"],
        row["end_at"],
        row["expires_at"],
        int(row["round"]),
    )


def ack_from(row: Row) -> JournaledAck:
    """The :class:`JournaledAck` of a ``t_ack`` row."""
    ack = Ack(
        row["order_id"],
        row["vehicle_id"],
        AckStatus(row["status"]),
        float(row["accepted_kw"]),
        row["reason"],
    )
    return JournaledAck(ack, AckVerdict(row["verdict"]), row["received_at"])
