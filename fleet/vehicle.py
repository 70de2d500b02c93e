"""The vehicle model and its usable power, the one capacity function every strategy uses.

Sign convention: power is always a non-negative magnitude in kW; the :class:`Direction` says
whether energy flows into the battery (``charge``) or out to the grid (``discharge``).
"""

from __future__ import annotations

import enum
import math
from typing import Annotated, Self, TypeAlias

import numpy as np
from numpy.typing import NDArray
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# Identifiers end up in MQTT topics: no wildcards, no separators, no whitespace.
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Percent = Annotated[float, Field(ge=0.0, le=100.0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]

Num: TypeAlias = "float | NDArray[np.float64]"
Bool: TypeAlias = "bool | NDArray[np.bool_]"


class Direction(enum.StrEnum):
    """Which way energy flows for an order."""

    CHARGE = "charge"
    DISCHARGE = "discharge"


class Vehicle(BaseModel):
    """One vehicle as the service knows it. Frozen: a new state is a new object."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    vehicle_id: Identifier
    site_id: Identifier
    soc_pct: Percent
    battery_kwh: Annotated[float, Field(gt=0.0)]
    max_charge_kw: NonNegative
    max_discharge_kw: NonNegative
    plugged_in: bool = True
    online: bool = True
    availability: Fraction = 1.0
    degradation: Fraction = 0.0
    min_soc_pct: Percent = 30.0
    max_soc_pct: Percent = 100.0
    updated_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _soc_window(self) -> Self:
        if self.min_soc_pct >= self.max_soc_pct:
            raise ValueError(
                f"min_soc_pct ({self.min_soc_pct}) must be below max_soc_pct ({self.max_soc_pct})"
            )
        return self

    def headroom_kwh(self, direction: Direction) -> float:
        """Energy the battery can move in ``direction`` before hitting its SoC limit.

        ``discharge``: ``max(0, soc - min_soc) / 100 * battery_kwh * (1 - degradation)``;
        ``charge``: ``max(0, max_soc - soc) / 100 * battery_kwh * (1 - degradation)``.
        """
        return float(headroom_kwh(self.span_pct(direction), self.battery_kwh, self.degradation))

    def span_pct(self, direction: Direction) -> float:
        """SoC points between the current SoC and the limit in ``direction`` (may be < 0)."""
        if direction is Direction.DISCHARGE:
            return self.soc_pct - self.min_soc_pct
        return self.max_soc_pct - self.soc_pct

    def effective_capacity(self, direction: Direction, duration_h: float | None = None) -> float:
        """Usable power in kW for an order in ``direction`` lasting ``duration_h`` hours.

        ``effective = min(rated_kw * (1 - degradation), headroom_kwh / duration_h) * availability``

        - ``rated_kw`` is ``max_discharge_kw`` or ``max_charge_kw``; degradation (battery state
          of health lost, 0-1) derates both the power and the usable energy;
        - ``headroom_kwh`` (see :meth:`headroom_kwh`) keeps a discharge from taking the SoC
          below ``min_soc_pct`` (default 30 %) and a charge from taking it above
          ``max_soc_pct``; without a duration only the sign of the headroom matters (no
          headroom, no power);
        - ``availability`` (0-1), the estimated probability that the vehicle honours the order,
          scales the result to the power the service can count on;
        - a vehicle that is offline or unplugged has no usable power.

        Always in ``[0, rated_kw]``. The arithmetic lives in :func:`effective_capacity_kw`,
        which fleet-wide code applies to whole arrays of vehicles at once.
        """
        rated = self.max_discharge_kw if direction is Direction.DISCHARGE else self.max_charge_kw
        return float(
            effective_capacity_kw(
                rated,
                span_pct=self.span_pct(direction),
                battery_kwh=self.battery_kwh,
                degradation=self.degradation,
                availability=self.availability,
                connected=self.online and self.plugged_in,
                duration_h=duration_h,
            )
        )


def headroom_kwh(span_pct: Num, battery_kwh: Num, degradation: Num) -> Num:
    """Energy within the SoC window: ``max(0, span) / 100 * battery_kwh * (1 - degradation)``."""
    return np.maximum(span_pct, 0.0) / 100.0 * battery_kwh * (1.0 - degradation)


def effective_capacity_kw(
    rated_kw: Num,
    *,
    span_pct: Num,
    battery_kwh: Num,
    degradation: Num,
    availability: Num,
    connected: Bool,
    duration_h: float | None,
) -> Num:
    """The formula of :meth:`Vehicle.effective_capacity`, elementwise on floats or arrays.

    ``span_pct`` is the SoC distance to the limit in the order's direction
    (:meth:`Vehicle.span_pct`); ``connected`` is ``online and plugged_in``.
    """
    if duration_h is not None and not 0 < duration_h < math.inf:
        raise ValueError(f"duration_h must be finite and > 0, got {duration_h}")
    headroom = headroom_kwh(span_pct, battery_kwh, degradation)
    power = rated_kw * (1.0 - degradation)
    if duration_h is not None:
        power = np.minimum(power, headroom / duration_h)
    return np.where(np.logical_and(connected, headroom > 0.0), power * availability, 0.0)
