"""The live fleet registry: the latest known state of every vehicle, per site.

Adapters (telemetry over MQTT, the database) write into it; the dispatch manager reads it
through the :class:`~fleet.discovery.FleetDiscovery` port.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from fleet.vehicle import Vehicle


class FleetRegistry:
    """In-memory map site -> vehicle id -> latest :class:`Vehicle`."""

    def __init__(self) -> None:
        self._sites: dict[str, dict[str, Vehicle]] = {}

    def upsert(self, vehicle: Vehicle) -> bool:
        """Store ``vehicle`` as the latest state; True when it is new or changed.

        A state older than the stored one (by ``updated_at``) is ignored, so a retained or
        replayed message can never roll a vehicle back in time.
        """
        site = self._sites.setdefault(vehicle.site_id, {})
        current = site.get(vehicle.vehicle_id)
        if (
            current is not None
            and current.updated_at is not None
            and vehicle.updated_at is not None
            and vehicle.updated_at < current.updated_at
        ):
            return False
        site[vehicle.vehicle_id] = vehicle
        return current != vehicle

    def set_online(self, site_id: str, vehicle_id: str, online: bool) -> bool:
        """Mark a known vehicle on- or offline; False when the vehicle is unknown."""
        current = self._sites.get(site_id, {}).get(vehicle_id)
        if current is None:
            return False
        if current.online != online:
            self._sites[site_id][vehicle_id] = current.model_copy(update={"online": online})
        return True

    def remove(self, site_id: str, vehicle_id: str) -> bool:
        """Forget a vehicle; False when it was not known."""
        return self._sites.get(site_id, {}).pop(vehicle_id, None) is not None

    def get(self, site_id: str, vehicle_id: str) -> Vehicle | None:
        """The latest state of one vehicle, if known."""
        return self._sites.get(site_id, {}).get(vehicle_id)

    def sites(self) -> list[str]:
        """Sites with at least one known vehicle."""
        return [s for s, vs in self._sites.items() if vs]

    def __len__(self) -> int:
        return sum(len(vs) for vs in self._sites.values())

    def __iter__(self) -> Iterator[Vehicle]:
        for vs in self._sites.values():
            yield from vs.values()

    def snapshot(self, site_id: str) -> tuple[Vehicle, ...]:
        """The vehicles known at ``site_id`` now."""
        return tuple(self._sites.get(site_id, {}).values())

    async def vehicles(self, site_id: str) -> Sequence[Vehicle]:
        """Snapshot of the vehicles known at ``site_id``."""
        return self.snapshot(site_id)
