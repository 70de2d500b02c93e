"""Vehicles (``t_vehicle``): master data from the fleet's records, live state from MQTT.

Two writers share the table and never clobber each other:

* :func:`upsert_vehicles` (seeding, fleet records) writes the master data (type,
  capabilities, battery, efficiency, ratings); its live state (SoC, plugged in, ...) only
  replaces the stored one when its ``state_at`` is newer;
* :func:`upsert_telemetry` (the service, with :class:`fleet.Vehicle` objects from MQTT)
  writes only the live-state columns, and only when not older than what is stored; a vehicle
  first seen over MQTT is inserted with the telemetry's battery and ratings as master data
  (:func:`insert_discovered` does only that insert).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fleet import Vehicle as FleetVehicle
from v2g.storage.database import Executor, Row

_LIVE = ("soc_pct", "plugged_in", "online", "availability", "degradation")
_MASTER = (
    "vehicle_type",
    "capabilities",
    "battery_kwh",
    "efficiency_kwh_per_km",
    "max_charge_kw",
    "max_discharge_kw",
)
_COLUMNS = ("site_id", "vehicle_id", *_MASTER, *_LIVE, "state_at", "updated_at")


class VehicleRecord(BaseModel):
    """A vehicle row: master data and the latest known live state."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    site_id: str = Field(min_length=1)
    vehicle_id: str = Field(min_length=1)
    vehicle_type: str = Field(default="van", min_length=1)
    capabilities: frozenset[str] = frozenset()
    battery_kwh: float = Field(gt=0)
    efficiency_kwh_per_km: float | None = Field(default=None, gt=0, description="None: average")
    max_charge_kw: float = Field(ge=0)
    max_discharge_kw: float = Field(default=0.0, ge=0)
    soc_pct: float = Field(ge=0, le=100)
    plugged_in: bool = False
    online: bool = False
    availability: float = Field(default=1.0, ge=0, le=1)
    degradation: float = Field(default=0.0, ge=0, le=1)
    state_at: AwareDatetime = Field(description="when the live state was measured")
    presence_at: AwareDatetime | None = Field(
        default=None, description="when MQTT last reported its presence; None: never"
    )

    @property
    def reported_offline(self) -> bool:
        """True when the vehicle's gateway said it is offline (not merely never heard of)."""
        return self.presence_at is not None and not self.online

    def to_fleet_vehicle(self) -> FleetVehicle:
        """The dispatch model of this vehicle."""
        return FleetVehicle(
            vehicle_id=self.vehicle_id,
            site_id=self.site_id,
            soc_pct=self.soc_pct,
            battery_kwh=self.battery_kwh,
            max_charge_kw=self.max_charge_kw,
            max_discharge_kw=self.max_discharge_kw,
            plugged_in=self.plugged_in,
            online=self.online,
            availability=self.availability,
            degradation=self.degradation,
            updated_at=self.state_at,
        )


def _insert(columns: Sequence[str]) -> str:
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO t_vehicle ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


_NEWER = "excluded.state_at > t_vehicle.state_at"
_UPSERT_MASTER = (
    _insert(_COLUMNS)
    + " ON CONFLICT (site_id, vehicle_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_MASTER, "updated_at"))
    + ", "
    + ", ".join(
        f"{c} = CASE WHEN {_NEWER} THEN excluded.{c} ELSE t_vehicle.{c} END"
        for c in (*_LIVE, "state_at")
    )
)
_TELEMETRY_COLUMNS = (
    "site_id",
    "vehicle_id",
    "battery_kwh",
    "max_charge_kw",
    "max_discharge_kw",
    *_LIVE,
    "state_at",
    "updated_at",
    "presence_at",
)
_UPSERT_TELEMETRY = (
    _insert(_TELEMETRY_COLUMNS)
    + " ON CONFLICT (site_id, vehicle_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_LIVE, "state_at", "updated_at", "presence_at"))
    + " WHERE excluded.state_at >= t_vehicle.state_at"
)
_INSERT_DISCOVERED = _insert(_TELEMETRY_COLUMNS) + " ON CONFLICT (site_id, vehicle_id) DO NOTHING"


def _master_row(v: VehicleRecord, now: datetime) -> tuple[Any, ...]:
    data = v.model_dump()
    data["capabilities"] = json.dumps(sorted(v.capabilities))
    data["updated_at"] = now
    return tuple(data[c] for c in _COLUMNS)


def _telemetry_row(v: FleetVehicle, now: datetime) -> tuple[Any, ...]:
    return (
        v.site_id,
        v.vehicle_id,
        v.battery_kwh,
        v.max_charge_kw,
        v.max_discharge_kw,
        v.soc_pct,
        v.plugged_in,
        v.online,
        v.availability,
        v.degradation,
        v.updated_at or now,
        now,
        now,
    )


async def upsert_vehicles(
    db: Executor, vehicles: Sequence[VehicleRecord], *, now: datetime
) -> None:
    """Insert or update master data; live state only where ``state_at`` is newer."""
    if vehicles:
        await db.executemany(_UPSERT_MASTER, [_master_row(v, now) for v in vehicles])


async def upsert_telemetry(
    db: Executor, vehicles: Sequence[FleetVehicle], *, now: datetime
) -> None:
    """Record live state from MQTT (state time: ``updated_at``, else ``now``); see the module."""
    if vehicles:
        await db.executemany(_UPSERT_TELEMETRY, [_telemetry_row(v, now) for v in vehicles])


async def insert_discovered(
    db: Executor, vehicles: Sequence[FleetVehicle], *, now: datetime
) -> None:
    """Insert vehicles first seen over MQTT; vehicles already stored are left alone."""
    if vehicles:
        await db.executemany(_INSERT_DISCOVERED, [_telemetry_row(v, now) for v in vehicles])


def _record(row: Row) -> VehicleRecord:
    data = {c: row[c] for c in _COLUMNS if c != "updated_at"}
    data["presence_at"] = row["presence_at"]
    data["capabilities"] = frozenset(json.loads(row["capabilities"]))
    return VehicleRecord.model_validate(data)


async def list_vehicles(db: Executor, site_id: str) -> list[VehicleRecord]:
    """The site's vehicles, by id."""
    rows = await db.fetch("SELECT * FROM t_vehicle WHERE site_id = $1 ORDER BY vehicle_id", site_id)
    return [_record(r) for r in rows]


async def get_vehicle(db: Executor, site_id: str, vehicle_id: str) -> VehicleRecord | None:
    """One vehicle, or None."""
    row = await db.fetchrow(
        "SELECT * FROM t_vehicle WHERE site_id = $1 AND vehicle_id = $2", site_id, vehicle_id
    )
    return None if row is None else _record(row)
