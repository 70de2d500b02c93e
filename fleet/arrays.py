"""A fleet as column arrays, for fleet-wide computations without a loop per vehicle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fleet.vehicle import Direction, Vehicle, effective_capacity_kw

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class FleetArrays:
    """The numeric state of a list of vehicles, one array per field, index-aligned."""

    soc_pct: FloatArray
    min_soc_pct: FloatArray
    max_soc_pct: FloatArray
    battery_kwh: FloatArray
    max_charge_kw: FloatArray
    max_discharge_kw: FloatArray
    availability: FloatArray
    degradation: FloatArray
    online: BoolArray
    plugged_in: BoolArray

    @classmethod
    def of(cls, vehicles: Sequence[Vehicle]) -> FleetArrays:
        """Read every vehicle once."""
        n = len(vehicles)
        rows = np.array(
            [
                (
                    v.soc_pct,
                    v.min_soc_pct,
                    v.max_soc_pct,
                    v.battery_kwh,
                    v.max_charge_kw,
                    v.max_discharge_kw,
                    v.availability,
                    v.degradation,
                    v.online,
                    v.plugged_in,
                )
                for v in vehicles
            ],
            dtype=np.float64,
        ).reshape(n, 10)
        col = [np.ascontiguousarray(rows[:, k]) for k in range(10)]
        return cls(
            soc_pct=col[0],
            min_soc_pct=col[1],
            max_soc_pct=col[2],
            battery_kwh=col[3],
            max_charge_kw=col[4],
            max_discharge_kw=col[5],
            availability=col[6],
            degradation=col[7],
            online=col[8] > 0,
            plugged_in=col[9] > 0,
        )

    def __len__(self) -> int:
        return int(self.soc_pct.shape[0])

    def take(self, index: NDArray[np.intp]) -> FleetArrays:
        """The rows at ``index``."""
        return FleetArrays(*(getattr(self, name)[index] for name in self.__dataclass_fields__))

    def span_pct(self, direction: Direction) -> FloatArray:
        """SoC points to the limit in ``direction`` (see :meth:`Vehicle.span_pct`)."""
        if direction is Direction.DISCHARGE:
            return self.soc_pct - self.min_soc_pct
        return self.max_soc_pct - self.soc_pct

    def effective_capacity(self, direction: Direction, duration_h: float | None) -> FloatArray:
        """:meth:`Vehicle.effective_capacity` of every vehicle at once."""
        rated = self.max_discharge_kw if direction is Direction.DISCHARGE else self.max_charge_kw
        return np.asarray(
            effective_capacity_kw(
                rated,
                span_pct=self.span_pct(direction),
                battery_kwh=self.battery_kwh,
                degradation=self.degradation,
                availability=self.availability,
                connected=self.online & self.plugged_in,
                duration_h=duration_h,
            ),
            dtype=np.float64,
        )
