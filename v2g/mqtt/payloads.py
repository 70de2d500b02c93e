"""JSON payloads of the wire contract, validated with pydantic at the edge.

Inbound payloads (status, online, ack, signal) ignore unknown fields so gateways and operators
can add fields without breaking the service; outbound payloads are built by the service and
forbid them. Every inbound payload is decoded through :func:`decode`, which turns JSON and
validation failures into a :class:`~v2g.mqtt.errors.PayloadError` carrying the topic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from dispatch.models import (
    MAX_SIGNAL_DURATION_S,
    Ack,
    AckStatus,
    DispatchResult,
    DispatchStatus,
    FlexibilitySignal,
    Order,
    Outcome,
    SignalType,
)
from fleet.vehicle import Direction, Fraction, Identifier, NonNegative, Percent, Vehicle
from scheduling.plan import ChargePlan, VehiclePlan
from v2g.mqtt.errors import PayloadError

OrderId = Annotated[str, Field(min_length=1, max_length=128)]
Reason = Annotated[str, Field(max_length=256)]

_INBOUND = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)
_OUTBOUND = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class StatusPayload(BaseModel):
    """Telemetry of one vehicle; ``vehicle_id``, when present, must match the topic."""

    model_config = _INBOUND

    vehicle_id: Identifier | None = None
    ts: AwareDatetime
    soc_pct: Percent
    battery_kwh: Annotated[float, Field(gt=0.0)]
    plugged_in: bool
    max_charge_kw: NonNegative
    max_discharge_kw: NonNegative
    availability: Fraction = 1.0
    degradation: Fraction = 0.0

    def to_vehicle(
        self, site_id: str, vehicle_id: str, *, online: bool, previous: Vehicle | None = None
    ) -> Vehicle:
        """The vehicle this telemetry describes; SoC limits carry over from ``previous``."""
        limits = (
            {"min_soc_pct": previous.min_soc_pct, "max_soc_pct": previous.max_soc_pct}
            if previous is not None
            else {}
        )
        return Vehicle(
            vehicle_id=vehicle_id,
            site_id=site_id,
            soc_pct=self.soc_pct,
            battery_kwh=self.battery_kwh,
            max_charge_kw=self.max_charge_kw,
            max_discharge_kw=self.max_discharge_kw,
            plugged_in=self.plugged_in,
            online=online,
            availability=self.availability,
            degradation=self.degradation,
            updated_at=_utc(self.ts),
            **limits,
        )


class OnlinePayload(BaseModel):
    """Presence of a vehicle's gateway: ``{"online": true}``, Last Will ``{"online": false}``."""

    model_config = _INBOUND

    online: bool


class OrderPayload(BaseModel):
    """One order to one vehicle (the vehicle and site are in the topic)."""

    model_config = _OUTBOUND

    order_id: OrderId
    signal_id: Identifier
    direction: Direction
    power_kw: NonNegative
    start: AwareDatetime
    end: AwareDatetime
    expires_at: AwareDatetime

    @classmethod
    def from_order(cls, order: Order) -> OrderPayload:
        """The wire form of ``order`` (already checked by :class:`Order`, so not re-validated)."""
        return cls.model_construct(
            order_id=order.order_id,
            signal_id=order.signal_id,
            direction=order.direction,
            power_kw=order.power_kw,
            start=order.start,
            end=order.end,
            expires_at=order.expires_at,
        )


class AckPayload(BaseModel):
    """A vehicle's answer to an order; ``vehicle_id``, when present, must match the topic."""

    model_config = _INBOUND

    order_id: OrderId
    vehicle_id: Identifier | None = None
    status: AckStatus
    accepted_kw: NonNegative = 0.0
    reason: Reason | None = None

    def to_ack(self, vehicle_id: str) -> Ack:
        """The domain ack, for the vehicle named by the topic."""
        return Ack(self.order_id, vehicle_id, self.status, self.accepted_kw, self.reason)


class SignalPayload(BaseModel):
    """A flexibility signal; the site comes from the topic (``site_id`` must match if given)."""

    model_config = _INBOUND

    signal_id: Identifier
    site_id: Identifier | None = None
    type: SignalType = "generic"
    direction: Direction
    power_kw: Annotated[float, Field(gt=0.0)]
    start: AwareDatetime
    duration_s: Annotated[float, Field(gt=0.0, le=MAX_SIGNAL_DURATION_S)]

    def to_signal(self, site_id: str) -> FlexibilitySignal:
        """The domain signal for ``site_id``."""
        return FlexibilitySignal(
            signal_id=self.signal_id,
            site_id=site_id,
            type=self.type,
            direction=self.direction,
            power_kw=self.power_kw,
            start=self.start,
            duration_s=self.duration_s,
        )


class VehicleOutcomePayload(BaseModel):
    """A vehicle's part in a dispatch."""

    model_config = _OUTBOUND

    vehicle_id: str
    ordered_kw: float
    acknowledged_kw: float
    outcome: Outcome
    orders: int


class ResultPayload(BaseModel):
    """The answer to one signal, published retained on its result topic."""

    model_config = _OUTBOUND

    signal_id: str
    site_id: str
    status: DispatchStatus
    requested_kw: float
    allocated_kw: float
    reallocated_kw: float
    acknowledged_kw: float
    dispatcher: str
    fallback: str
    rounds: int
    started_at: AwareDatetime
    finished_at: AwareDatetime
    duration_s: float
    eligible_vehicles: int
    excluded: dict[str, int]
    late_acks: int
    duplicate_acks: int
    reason: str | None
    vehicles: list[VehicleOutcomePayload]

    @classmethod
    def from_result(cls, result: DispatchResult) -> Self:
        """The wire form of ``result``."""
        return cls(
            signal_id=result.signal_id,
            site_id=result.site_id,
            status=result.status,
            requested_kw=result.requested_kw,
            allocated_kw=result.allocated_kw,
            reallocated_kw=result.reallocated_kw,
            acknowledged_kw=result.acknowledged_kw,
            dispatcher=result.dispatcher,
            fallback=result.fallback,
            rounds=result.rounds,
            started_at=result.started_at,
            finished_at=result.finished_at,
            duration_s=result.duration_s,
            eligible_vehicles=result.eligible_vehicles,
            excluded=dict(result.excluded),
            late_acks=result.late_acks,
            duplicate_acks=result.duplicate_acks,
            reason=result.reason,
            vehicles=[VehicleOutcomePayload(**v._asdict()) for v in result.vehicles],
        )


class ScheduleSlot(BaseModel):
    """One slot of a charge plan: charge (or discharge) at ``power_kw`` from start to end."""

    model_config = _OUTBOUND

    start: AwareDatetime
    end: AwareDatetime
    power_kw: NonNegative
    direction: Direction = Direction.CHARGE


class SchedulePayload(BaseModel):
    """A vehicle's charge plan, published retained on its schedule topic.

    Every slot of the plan's window is listed, idle ones (0 kW) too: the gateway replaces its
    whole plan with this one. ``run_id`` names the stored scheduling run it comes from.
    """

    model_config = _OUTBOUND

    generated_at: AwareDatetime
    slots: list[ScheduleSlot]
    site_id: str | None = None
    vehicle_id: str | None = None
    run_id: str | None = None
    window_start: AwareDatetime | None = None
    slot_minutes: Annotated[int, Field(gt=0)] | None = None

    @classmethod
    def from_plan(
        cls,
        plan: ChargePlan,
        vehicle_id: str,
        generated_at: datetime,
        *,
        run_id: str | None = None,
    ) -> SchedulePayload:
        """The schedule of ``vehicle_id`` in ``plan``; :class:`KeyError` if it has none."""
        vehicle = next((v for v in plan.vehicles if v.vehicle_id == vehicle_id), None)
        if vehicle is None:
            raise KeyError(f"plan of site {plan.site_id} has no vehicle {vehicle_id!r}")
        return cls.from_vehicle_plan(plan, vehicle, generated_at, run_id=run_id)

    @classmethod
    def from_vehicle_plan(
        cls,
        plan: ChargePlan,
        vehicle: VehiclePlan,
        generated_at: datetime,
        *,
        run_id: str | None = None,
    ) -> SchedulePayload:
        """The schedule of ``vehicle``, one of ``plan``'s vehicles.

        Built without re-validation (the plan is a validated model): a large fleet gets one
        payload per vehicle and slot, on the event loop. Powers are rounded to the watt.
        """
        step = timedelta(minutes=plan.slot_minutes)
        start = _utc(plan.window_start)
        slots = []
        for t, power_kw in enumerate(vehicle.power_kw):
            kw = round(power_kw, 3) + 0.0  # + 0.0 turns -0.0 into 0.0
            slots.append(
                ScheduleSlot.model_construct(
                    start=start + t * step,
                    end=start + (t + 1) * step,
                    power_kw=abs(kw),
                    direction=Direction.DISCHARGE if kw < 0 else Direction.CHARGE,
                )
            )
        return cls.model_construct(
            generated_at=_utc(generated_at),
            slots=slots,
            site_id=plan.site_id,
            vehicle_id=vehicle.vehicle_id,
            run_id=run_id,
            window_start=start,
            slot_minutes=plan.slot_minutes,
        )


M = TypeVar("M", bound=BaseModel)


def decode(model: type[M], topic: str, kind: str, raw: bytes | bytearray) -> M:
    """Parse and validate ``raw`` JSON as ``model``; :class:`PayloadError` names the topic."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        )
        raise PayloadError(topic, kind, detail) from exc


def check_id_matches(topic: str, kind: str, field: str, given: str | None, expected: str) -> None:
    """Raise :class:`PayloadError` when a payload names another entity than its topic."""
    if given is not None and given != expected:
        raise PayloadError(
            topic, kind, f"{field} {given!r} does not match the topic ({expected!r})"
        )


def encode(payload: BaseModel) -> bytes:
    """The JSON bytes of an outbound payload."""
    return payload.model_dump_json().encode()
