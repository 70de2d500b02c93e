"""Test-side helpers: a gateway simulator answering orders over MQTT, and polling."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dispatch.models import Ack, Order
from v2g.mqtt import OrderPayload, Topics
from v2g.sim.behaviour import Behaviour


async def eventually(check: Callable[[], bool], timeout_s: float = 2.0) -> None:
    """Wait until ``check()`` holds; fail the test after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not check():  # noqa: ASYNC110  (polls plain state: registries and sinks have no events)
            await asyncio.sleep(0.01)


@dataclass
class ReceivedOrder:
    """An order as the gateway saw it, with its MQTT 5 properties."""

    order: Order
    topic: str
    response_topic: str | None
    correlation_data: bytes | None
    expiry_s: int | None


@dataclass
class GatewaySimulator:
    """Answers the orders of every vehicle under a prefix with a :class:`Behaviour`."""

    client: aiomqtt.Client
    topics: Topics
    behaviour: Behaviour = field(default_factory=Behaviour)
    ack_timeout_s: float = 0.5
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    received: list[ReceivedOrder] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self) -> None:
        """Answer orders until cancelled."""
        async for message in self.client.messages:
            parsed = self.topics.parse(message.topic.value)
            assert isinstance(message.payload, bytes)
            wire = OrderPayload.model_validate_json(message.payload)
            order = Order(
                wire.order_id,
                wire.signal_id,
                parsed.site_id,
                str(parsed.vehicle_id),
                wire.direction,
                wire.power_kw,
                wire.start,
                wire.end,
                wire.expires_at,
            )
            props: Any = message.properties
            self.received.append(
                ReceivedOrder(
                    order,
                    message.topic.value,
                    getattr(props, "ResponseTopic", None),
                    getattr(props, "CorrelationData", None),
                    getattr(props, "MessageExpiryInterval", None),
                )
            )
            reply_to = getattr(props, "ResponseTopic", None) or self.topics.ack(
                order.site_id, order.vehicle_id
            )
            for delay, ack in self.behaviour.plan(order, self.rng, self.ack_timeout_s):
                task = asyncio.create_task(self._answer(reply_to, delay, ack))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _answer(self, topic: str, delay: float, ack: Ack) -> None:
        await asyncio.sleep(delay)
        body = {
            "order_id": ack.order_id,
            "vehicle_id": ack.vehicle_id,
            "status": ack.status.value,
            "accepted_kw": ack.accepted_kw,
            "reason": ack.reason,
        }
        await self.client.publish(topic, json.dumps(body).encode(), qos=1)


@asynccontextmanager
async def gateway(
    broker: tuple[str, int], prefix: str, behaviour: Behaviour | None = None
) -> AsyncIterator[GatewaySimulator]:
    """A running :class:`GatewaySimulator` subscribed to ``{prefix}/+/vehicles/+/order``."""
    host, port = broker
    async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5, timeout=3.0) as c:
        await c.subscribe(f"{prefix}/+/vehicles/+/order", qos=1)
        sim = GatewaySimulator(c, Topics(prefix), behaviour or Behaviour())
        runner = asyncio.create_task(sim.run(), name="gateway-simulator")
        try:
            yield sim
        finally:
            runner.cancel()
            for task in list(sim._tasks):
                task.cancel()
            await asyncio.gather(runner, *sim._tasks, return_exceptions=True)


async def forget_session(broker: tuple[str, int], client_id: str) -> None:
    """End a client's persistent session on the broker (clean start, expiry 0)."""
    host, port = broker
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    async with aiomqtt.Client(
        host,
        port,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=True,
        properties=props,
        timeout=3.0,
    ):
        pass
