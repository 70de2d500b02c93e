"""Simulated telematics gateways of one site, talking to the service over MQTT."""

from v2g.simulator.battery import soc_after
from v2g.simulator.gateways import GatewayFleet

__all__ = ["GatewayFleet", "soc_after"]
