"""The fleet: vehicles, what they can deliver, and where the service learns about them."""

from fleet.arrays import FleetArrays
from fleet.discovery import FleetDiscovery, StaticFleet
from fleet.registry import FleetRegistry
from fleet.vehicle import Direction, Vehicle, effective_capacity_kw

__all__ = [
    "Direction",
    "FleetArrays",
    "FleetDiscovery",
    "FleetRegistry",
    "StaticFleet",
    "Vehicle",
    "effective_capacity_kw",
]
