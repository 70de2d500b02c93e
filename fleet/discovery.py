"""Where the dispatch manager gets the vehicles of a site from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from fleet.vehicle import Vehicle


class FleetDiscovery(Protocol):
    """The port through which the fleet of a site is discovered at dispatch time."""

    async def vehicles(self, site_id: str) -> Sequence[Vehicle]:
        """The vehicles currently known at ``site_id`` (any state; filters decide)."""
        ...


class StaticFleet:
    """A fixed fleet, for tests, benchmarks and deployments without discovery."""

    def __init__(self, vehicles: Iterable[Vehicle]) -> None:
        self._by_site: dict[str, list[Vehicle]] = {}
        seen: set[tuple[str, str]] = set()
        for v in vehicles:
            key = (v.site_id, v.vehicle_id)
            if key in seen:
                raise ValueError(f"vehicle {v.vehicle_id} appears twice at site {v.site_id}")
            seen.add(key)
            self._by_site.setdefault(v.site_id, []).append(v)

    async def vehicles(self, site_id: str) -> Sequence[Vehicle]:
        """The vehicles given for ``site_id``."""
        return tuple(self._by_site.get(site_id, ()))
