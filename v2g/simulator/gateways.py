"""``GatewayFleet``: the telematics gateways of one site's vehicles, simulated over MQTT.

The gateways are multiplexed on a few client sessions (``vehicles_per_session``, default 500).
Entering the fleet connects every session, publishes each vehicle's retained ``online`` and
``status`` and subscribes to its ``order`` topic. Each order is answered as a seeded
:class:`~v2g.sim.behaviour.Behaviour` says, after its latency, on the order's MQTT 5 response
topic (echoing its correlation data) or else on the vehicle's ``ack`` topic. An accepted order
is then executed: from its ``start`` to its ``end`` the vehicle's SoC moves every ``tick_s``
(:func:`~v2g.simulator.battery.soc_after`) and its status is republished. A newer accepted
order for the same vehicle replaces the one being executed.

A fleet of 10k gateways has to keep up with a service on the same machine, so the order path
is lean: orders are handled in the session's paho callback (no message object, queue or task
per order), acks leave through paho's client at once with properties packed once
(:class:`~v2g.mqtt.properties.PublishProperties`), one ticker moves every executing vehicle
(no task per order), and once started the fleet settles its heap (:func:`v2g.heap.settle_heap`).

Presence and its limitation: a Last Will is per connection, so only a session holding exactly
one vehicle (``vehicles_per_session=1``) sets that vehicle's ``{"online": false}`` as its Will.
A multiplexed session that drops leaves its vehicles' retained ``{"online": true}`` in place;
on a clean exit the fleet publishes ``{"online": false}`` for every vehicle itself.

Every vehicle draws from its own ``random.Random`` seeded with ``(seed, vehicle_id)``, so its
answers do not depend on how orders of different vehicles interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import aiomqtt
import paho.mqtt.client as paho
import structlog
from paho.mqtt.properties import Properties

from dispatch.models import Ack, AckStatus, Order
from dispatch.ports import Clock
from fleet.vehicle import Vehicle
from v2g.clock import SystemClock
from v2g.heap import settle_heap
from v2g.mqtt.errors import PayloadError, TopicError
from v2g.mqtt.payloads import AckPayload, OnlinePayload, OrderPayload, StatusPayload, decode
from v2g.mqtt.properties import PublishProperties, share_property_tables
from v2g.mqtt.settings import MqttSettings, Protocol
from v2g.mqtt.topics import TopicKind, Topics
from v2g.sim.behaviour import Behaviour
from v2g.simulator.battery import soc_after

log = structlog.get_logger(__name__)

QOS = 1
_SUBSCRIBE_BATCH = 100


class GatewayFleet:
    """An async context manager running the gateways of ``vehicles`` (all at ``site_id``)."""

    def __init__(
        self,
        settings: MqttSettings,
        site_id: str,
        vehicles: Sequence[Vehicle],
        behaviour: Behaviour,
        *,
        seed: int = 0,
        vehicles_per_session: int = 500,
        tick_s: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        if vehicles_per_session < 1:
            raise ValueError("vehicles_per_session must be at least 1")
        if tick_s <= 0:
            raise ValueError("tick_s must be positive")
        if any(v.site_id != site_id for v in vehicles):
            raise ValueError(f"every vehicle must be at site {site_id!r}")
        self.settings = settings
        self.site_id = site_id
        self.behaviour = behaviour
        self.topics = Topics(settings.topic_prefix)
        self.tick_s = tick_s
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._vehicles = {v.vehicle_id: v for v in vehicles}
        self._rngs = {vid: random.Random(f"{seed}:{vid}") for vid in self._vehicles}
        ids = list(self._vehicles)
        self._groups = [
            ids[i : i + vehicles_per_session] for i in range(0, len(ids), vehicles_per_session)
        ]
        self._client_of: dict[str, aiomqtt.Client] = {}
        self._stack: AsyncExitStack | None = None
        self._receivers: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()  # acks waiting for their latency
        self._executing: dict[str, _Execution] = {}  # vehicle id -> the order it executes
        self._ticker: asyncio.Task[None] | None = None
        self._unsettle: Callable[[], None] | None = None
        self._gate = asyncio.Semaphore(settings.max_in_flight)
        self.acks_sent: list[Ack] = []

    def vehicle(self, vehicle_id: str) -> Vehicle:
        """The current state of one simulated vehicle."""
        return self._vehicles[vehicle_id]

    @property
    def vehicle_ids(self) -> list[str]:
        """Every simulated vehicle's id."""
        return list(self._vehicles)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Connect every session, publish presence and status, subscribe to the orders."""
        self._stack = AsyncExitStack()
        try:
            for index, group in enumerate(self._groups):
                client = self._client_for(group)
                async with asyncio.timeout(self.settings.connect_timeout_s):
                    await self._stack.enter_async_context(client)
                for vid in group:
                    self._client_of[vid] = client
                await self._announce(group)
                await self._subscribe(client, group)
                self._receivers.append(
                    asyncio.create_task(self._receive(client), name=f"gateway-session-{index}")
                )
            self._ticker = asyncio.create_task(self._tick(), name="gateway-fleet-ticker")
            self._unsettle = settle_heap()
        except BaseException:
            await self._stop(say_goodbye=False)
            raise
        log.info("gateway_fleet_started", site_id=self.site_id, vehicles=len(self._vehicles))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop answering, mark every vehicle offline (best effort) and disconnect."""
        await self._stop(say_goodbye=True)

    async def run(self) -> None:
        """Answer orders until cancelled; raises :class:`aiomqtt.MqttError` if a session drops."""
        await asyncio.gather(*self._receivers)

    async def _stop(self, *, say_goodbye: bool) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        tasks = [*self._receivers, *([self._ticker] if self._ticker is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._ticker = None
        self._executing.clear()
        if self._unsettle is not None:
            self._unsettle()
            self._unsettle = None
        if say_goodbye and self._client_of:
            offline = OnlinePayload(online=False).model_dump_json().encode()
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(self.settings.operation_timeout_s):
                    await self._gather(
                        self._publish(vid, self.topics.online(self.site_id, vid), offline, True)
                        for vid in self._client_of
                    )
        if self._stack is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._stack.aclose()
        self._stack = None
        self._receivers = []
        self._client_of.clear()

    def _client_for(self, group: list[str]) -> aiomqtt.Client:
        share_property_tables()  # every order received builds paho Properties
        s = self.settings
        v5 = s.protocol is Protocol.V5
        will = None
        if len(group) == 1:
            payload = OnlinePayload(online=False).model_dump_json().encode()
            will = aiomqtt.Will(self.topics.online(self.site_id, group[0]), payload, QOS, True)
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password.get_secret_value() if s.password is not None else None,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            will=will,
            keepalive=s.keepalive_s,
            timeout=s.operation_timeout_s,
            # 0: no bound inside paho (it rescans its outgoing queue on every PUBACK): the
            # fleet's own gate bounds its publications, and its acks are one per order
            max_inflight_messages=0,
        )
        client.pending_calls_threshold = s.max_in_flight  # the fleet's own publish limit
        return client

    # -- publishing --------------------------------------------------------------------------

    async def _gather(self, calls: Iterable[Awaitable[None]]) -> None:
        await asyncio.gather(*calls)

    async def _publish(
        self, vid: str, topic: str, payload: bytes, retain: bool = False, props: Any = None
    ) -> None:
        async with self._gate:
            await self._client_of[vid].publish(
                topic, payload, qos=QOS, retain=retain, properties=props
            )

    async def _publish_status(self, vid: str) -> None:
        v = self._vehicles[vid]
        status = StatusPayload(
            vehicle_id=vid,
            ts=self.clock.now(),
            soc_pct=round(v.soc_pct, 4),
            battery_kwh=v.battery_kwh,
            plugged_in=v.plugged_in,
            max_charge_kw=v.max_charge_kw,
            max_discharge_kw=v.max_discharge_kw,
            availability=v.availability,
            degradation=v.degradation,
        )
        topic = self.topics.status(self.site_id, vid)
        await self._publish(vid, topic, status.model_dump_json().encode(), retain=True)

    async def _announce(self, group: list[str]) -> None:
        async def one(vid: str) -> None:
            presence = OnlinePayload(online=self._vehicles[vid].online)
            topic = self.topics.online(self.site_id, vid)
            await self._publish(vid, topic, presence.model_dump_json().encode(), retain=True)
            await self._publish_status(vid)

        await self._gather(one(vid) for vid in group)

    async def _subscribe(self, client: aiomqtt.Client, group: list[str]) -> None:
        # orders go to the callback, straight from paho's reader: nothing else is subscribed
        orders = f"{self.topics.prefix}/{self.site_id}/vehicles/+/{TopicKind.ORDER.value}"
        client._client.message_callback_add(orders, self._on_paho_order)
        for i in range(0, len(group), _SUBSCRIBE_BATCH):
            batch = [
                (self.topics.order(self.site_id, v), QOS) for v in group[i : i + _SUBSCRIBE_BATCH]
            ]
            await client.subscribe(batch)

    # -- orders ------------------------------------------------------------------------------

    async def _receive(self, client: aiomqtt.Client) -> None:
        """Wait on the session: orders go to the callback; this raises when the session drops."""
        async for message in client.messages:
            log.debug("simulated_gateway_ignored", topic=message.topic.value)

    def _on_paho_order(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        """paho's callback for the order topics (on the event loop, in paho's reader)."""
        topic = ""
        try:
            topic = message.topic
            self._on_order(topic, message.payload, message.properties)
        except (TopicError, PayloadError, ValueError) as exc:
            log.warning("simulated_order_rejected", topic=topic, error=str(exc))
        except Exception:  # an exception here would end the session's reader
            log.exception("simulated_order_failed", topic=topic)

    def _on_order(self, topic: str, payload: bytes, properties: Properties | None) -> None:
        parsed = self.topics.parse(topic)
        vid = parsed.vehicle_id
        if parsed.kind is not TopicKind.ORDER or vid not in self._vehicles:
            return
        if not self._vehicles[vid].online:
            return
        wire = decode(OrderPayload, topic, "order", payload)
        order = Order(
            wire.order_id,
            wire.signal_id,
            parsed.site_id,
            vid,
            wire.direction,
            wire.power_kw,
            wire.start,
            wire.end,
            wire.expires_at,
        )
        props: Any = properties
        reply_to = getattr(props, "ResponseTopic", None) or self.topics.ack(self.site_id, vid)
        correlation = getattr(props, "CorrelationData", None)
        until_expiry_s = max(0.0, (wire.expires_at - self.clock.now()).total_seconds())
        for delay, ack in self.behaviour.plan(order, self._rngs[vid], until_expiry_s):
            if delay > 0:
                self._later(delay, order, ack, reply_to, correlation)
            else:
                self._answer(order, ack, reply_to, correlation)

    def _later(
        self, delay: float, order: Order, ack: Ack, topic: str, correlation: bytes | None
    ) -> None:
        def fire() -> None:
            self._timers.discard(handle)
            self._answer(order, ack, topic, correlation)

        handle = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(handle)

    def _answer(self, order: Order, ack: Ack, topic: str, correlation: bytes | None) -> None:
        """Send one ack now, without waiting for the broker's PUBACK.

        The session's paho client queues the QoS 1 message (and resends it if needed); no task
        or future per ack keeps a 10k-vehicle fleet on one core.
        """
        body = AckPayload.model_construct(
            order_id=ack.order_id,
            vehicle_id=ack.vehicle_id,
            status=ack.status,
            accepted_kw=ack.accepted_kw,
            reason=ack.reason,
        )
        props = None
        if correlation is not None and self.settings.protocol is Protocol.V5:
            props = PublishProperties(correlation_data=correlation)
        client = self._client_of[order.vehicle_id]._client  # paho, under aiomqtt's session
        info = client.publish(topic, body.model_dump_json().encode(), qos=QOS, properties=props)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            log.warning("simulated_ack_not_sent", order_id=order.order_id, rc=info.rc)
            return
        self.acks_sent.append(ack)
        if ack.status is AckStatus.ACCEPTED and ack.accepted_kw > 0:
            self._start_execution(order, ack.accepted_kw)

    def _start_execution(self, order: Order, power_kw: float) -> None:
        current = self._executing.get(order.vehicle_id)
        if current is not None and current.order.order_id == order.order_id:
            return  # a duplicate ack of the order already running
        self._executing[order.vehicle_id] = _Execution(
            order, power_kw, max(order.start, self.clock.now())
        )

    async def _tick(self) -> None:
        """Every ``tick_s``: move the SoC of every vehicle executing an order, republish it."""
        while True:
            await asyncio.sleep(self.tick_s)
            now = self.clock.now()
            moved: list[str] = []
            for vid, run in list(self._executing.items()):
                until = min(now, run.order.end)
                if until > run.last:
                    vehicle = self._vehicles[vid]
                    seconds = (until - run.last).total_seconds()
                    soc = soc_after(vehicle, run.order.direction, run.power_kw, seconds)
                    self._vehicles[vid] = vehicle.model_copy(
                        update={"soc_pct": soc, "updated_at": until}
                    )
                    run.last = until
                    moved.append(vid)
                if run.last >= run.order.end:
                    del self._executing[vid]
            if moved:
                await self._gather(self._publish_status(vid) for vid in moved)


@dataclass(slots=True)
class _Execution:
    """An accepted order a vehicle executes: its power and how far the SoC has followed."""

    order: Order
    power_kw: float
    last: datetime
