"""Simulated vehicles: how gateways answer orders, and an in-process fleet that plays them."""

from v2g.sim.behaviour import Behaviour, Reply
from v2g.sim.fleetgen import make_fleet
from v2g.sim.inprocess import SimulatedFleet

__all__ = ["Behaviour", "Reply", "SimulatedFleet", "make_fleet"]
