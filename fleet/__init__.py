"""The fleet: vehicles, what they can deliver, and where the service learns about them."""

from fleet.discovery import FleetDiscovery, StaticFleet
from fleet.registry import FleetRegistry
from fleet.vehicle import Direction, Vehicle

__all__ = ["Direction", "FleetDiscovery", "FleetRegistry", "StaticFleet", "Vehicle"]
