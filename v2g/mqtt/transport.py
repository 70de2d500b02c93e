"""The MQTT transport: one connection to the broker, kept alive, routing what arrives.

``async with MqttTransport(settings, registry=..., on_ack=..., on_signal=...)`` connects (MQTT 5
by default, 3.1.1 selectable), subscribes to the inbound topics of the wire contract and runs
a receive task that routes every message:

- ``status`` / ``online`` -> the :class:`~fleet.registry.FleetRegistry` (retained messages build
  the fleet at start; an empty retained status removes the vehicle; ``{"online": false}``, the
  gateways' Last Will, marks it offline; presence seen before any status is kept until it comes);
- ``ack`` -> ``on_ack`` (normally ``DispatchManager.handle_ack``), only for known vehicles,
  or for order ids ``expects_ack`` names (after a restart the broker hands over the acks it
  kept before the retained statuses have rebuilt the fleet);
- ``signals`` -> ``on_signal`` in its own task, so a dispatch never blocks the receive loop.

Bad topics and payloads are logged with their topic, counted and dropped; the loop never dies
on a message. A lost connection is retried with jittered exponential backoff and the
subscriptions are made again.

With a ``client_id`` the session is persistent (MQTT 5: clean start off and a
``SessionExpiryInterval`` of ``session_expiry_s``; 3.1.1: clean session off): while the
service is down or reconnecting the broker keeps its subscriptions and queues the QoS 1 acks
and signals meant for it, and delivers them when it is back. Without one (tests, the
simulator) every connection starts clean. A persistent session with an ``ack_barrier`` (the
journal's flush) acknowledges each message to the broker only once the barrier after it has
passed (:class:`~v2g.mqtt.pubacks.PubackGate`): what a crash interrupts is delivered again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from types import TracebackType
from typing import Self

import aiomqtt
import structlog
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from dispatch.models import Ack, FlexibilitySignal
from fleet.registry import FleetRegistry
from metrics import MetricsSink, NopSink
from v2g.mqtt import metrics as mm
from v2g.mqtt.batch import Message, publish_batch
from v2g.mqtt.connect import client_for
from v2g.mqtt.errors import MqttTransportError, NotConnectedError, PayloadError, TopicError
from v2g.mqtt.payloads import (
    AckPayload,
    OnlinePayload,
    SignalPayload,
    StatusPayload,
    check_id_matches,
    decode,
)
from v2g.mqtt.pubacks import Barrier, PubackGate
from v2g.mqtt.settings import MqttSettings, Protocol
from v2g.mqtt.topics import ParsedTopic, TopicKind, Topics

log = structlog.get_logger(__name__)

AckHandler = Callable[[Ack], object]
SignalHandler = Callable[[FlexibilitySignal], Awaitable[object]]

QOS = 1


def backoff_delays(initial_s: float, max_s: float, rng: random.Random) -> Iterator[float]:
    """Reconnect delays: "full jitter", uniform in ``[0, min(max_s, initial_s * 2**n)]``."""
    attempt = 0
    while True:
        yield rng.uniform(0.0, min(max_s, initial_s * 2.0**attempt))
        attempt = min(attempt + 1, 62)


class MqttTransport:
    """An async context manager owning the broker connection and the receive task."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        registry: FleetRegistry,
        on_ack: AckHandler | None = None,
        on_signal: SignalHandler | None = None,
        metrics: MetricsSink | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.registry = registry
        self.on_ack = on_ack
        self.on_signal = on_signal
        self.expects_ack: Callable[[str], bool] | None = None
        self.ack_barrier: Barrier | None = None  # set before entering
        self.metrics: MetricsSink = metrics if metrics is not None else NopSink()
        self._rng = rng if rng is not None else random.Random()
        self._client: aiomqtt.Client | None = None
        self._up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._signal_tasks: set[asyncio.Task[None]] = set()
        self._presence: dict[tuple[str, str], bool] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start the connection task; wait for the first connection (``connect_timeout_s``)."""
        self._task = asyncio.create_task(self._run(), name="mqtt-transport")
        up = asyncio.create_task(self._up.wait(), name="mqtt-transport-up")
        await asyncio.wait(
            (up, self._task),
            timeout=self.settings.connect_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not self._up.is_set():
            up.cancel()
            if self._task.done():
                self._task.result()  # an unexpected error: let it surface as itself
            await self._stop()
            raise NotConnectedError(
                f"no MQTT connection to {self.settings.host}:{self.settings.port} "
                f"within {self.settings.connect_timeout_s} s"
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the signal tasks and the connection."""
        await self._stop()

    async def _stop(self) -> None:
        tasks = [*self._signal_tasks, *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    @property
    def connected(self) -> bool:
        """True while a broker connection is up."""
        return self._up.is_set() and self._client is not None

    # -- publishing --------------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK (``operation_timeout_s``)."""
        client = self._client
        if client is None or not self._up.is_set():
            raise NotConnectedError("not connected to the MQTT broker")
        if self.settings.protocol is not Protocol.V5:
            properties = None
        try:
            await client.publish(
                topic,
                payload,
                qos=QOS,
                retain=retain,
                properties=properties,
                timeout=self.settings.operation_timeout_s,
            )
        except aiomqtt.MqttError as exc:
            raise MqttTransportError(f"publish to {topic!r} failed: {exc}") from exc

    async def publish_batch(
        self, messages: Sequence[Message], *, window: asyncio.Semaphore
    ) -> list[int]:
        """Publish many messages at QoS 1 (see :func:`~v2g.mqtt.batch.publish_batch`).

        Returns the indices not confirmed by the broker; :class:`NotConnectedError` when there
        is no connection at all.
        """
        client = self._client
        if client is None or not self._up.is_set():
            raise NotConnectedError("not connected to the MQTT broker")
        if self.settings.protocol is not Protocol.V5:
            messages = [(topic, payload, None) for topic, payload, _ in messages]
        return await publish_batch(
            client, messages, window=window, timeout_s=self.settings.operation_timeout_s
        )

    # -- connection loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        s = self.settings
        delays = backoff_delays(s.reconnect_initial_s, s.reconnect_max_s, self._rng)
        while True:
            client = client_for(s)
            gate = None
            if s.client_id is not None and self.ack_barrier is not None:
                gate = PubackGate(client, self.ack_barrier, s.operation_timeout_s)
            try:
                async with client:
                    await client.subscribe(
                        [(f, QOS) for f in self.topics.subscriptions(s.sites)],
                        timeout=s.operation_timeout_s,
                    )
                    self._client = client
                    self._up.set()
                    self.metrics.set(mm.CONNECTED, 1.0)
                    delays = backoff_delays(s.reconnect_initial_s, s.reconnect_max_s, self._rng)
                    log.info(
                        "mqtt_connected",
                        host=s.host,
                        port=s.port,
                        prefix=s.topic_prefix,
                        session="persistent" if s.client_id is not None else "clean",
                    )
                    await self._receive(client, gate)
            except aiomqtt.MqttError as exc:
                error = str(exc)
            else:
                error = "message stream ended"
            finally:
                self._client = None
                self._up.clear()
                self.metrics.set(mm.CONNECTED, 0.0)
            delay = next(delays)
            self.metrics.inc(mm.RECONNECTS)
            log.warning("mqtt_disconnected", error=error, retry_in_s=round(delay, 3))
            await asyncio.sleep(delay)

    async def _receive(self, client: aiomqtt.Client, gate: PubackGate | None) -> None:
        """Route every message; with a gate, its PUBACK waits for the barrier after it."""
        if gate is None:
            async for message in client.messages:
                self.route(message.topic.value, message.payload)
            return
        releaser = asyncio.create_task(gate.run(), name="mqtt-pubacks")
        try:
            async for message in client.messages:
                self.route(message.topic.value, message.payload)
                gate.routed(message.mid, message.qos)
        finally:
            releaser.cancel()
            await asyncio.gather(releaser, return_exceptions=True)

    # -- routing -----------------------------------------------------------------------------

    def route(self, topic: str, payload: bytes | bytearray | str | int | float | None) -> None:
        """Handle one received message; never raises (bad messages are logged and counted)."""
        raw = payload.encode() if isinstance(payload, str) else payload
        if not isinstance(raw, bytes | bytearray):
            raw = b"" if raw is None else str(raw).encode()
        kind = "unknown"
        try:
            parsed = self.topics.parse(topic)
            kind = parsed.kind.value
            self.metrics.inc(mm.MESSAGES_RECEIVED, kind=kind)
            if parsed.kind is TopicKind.STATUS:
                self._on_status(topic, parsed, raw)
            elif parsed.kind is TopicKind.ONLINE:
                self._on_online(topic, parsed, raw)
            elif parsed.kind is TopicKind.ACK:
                self._on_ack(topic, parsed, raw)
            elif parsed.kind is TopicKind.SIGNAL:
                self._on_signal(topic, parsed, raw)
            else:
                log.debug("mqtt_message_ignored", topic=topic, kind=kind)
        except (TopicError, PayloadError) as exc:
            self.metrics.inc(mm.PAYLOADS_REJECTED, kind=kind)
            log.warning("mqtt_message_rejected", topic=topic, kind=kind, error=str(exc))
        except Exception:
            self.metrics.inc(mm.PAYLOADS_REJECTED, kind=kind)
            log.exception("mqtt_message_failed", topic=topic, kind=kind)

    def _on_status(self, topic: str, parsed: ParsedTopic, raw: bytes | bytearray) -> None:
        site, vid = parsed.site_id, str(parsed.vehicle_id)
        if not raw:  # a cleared retained status: the vehicle left the fleet
            self._presence.pop((site, vid), None)
            if self.registry.remove(site, vid):
                log.info("vehicle_removed", topic=topic, site_id=site, vehicle_id=vid)
            return
        status = decode(StatusPayload, topic, "status", raw)
        check_id_matches(topic, "status", "vehicle_id", status.vehicle_id, vid)
        previous = self.registry.get(site, vid)
        online = self._presence.pop((site, vid), None)
        if online is None:
            online = previous.online if previous is not None else True
        try:
            vehicle = status.to_vehicle(site, vid, online=online, previous=previous)
        except ValidationError as exc:
            raise PayloadError(topic, "status", str(exc.errors(include_url=False))) from exc
        self.registry.upsert(vehicle)

    def _on_online(self, topic: str, parsed: ParsedTopic, raw: bytes | bytearray) -> None:
        site, vid = parsed.site_id, str(parsed.vehicle_id)
        if not raw:  # a cleared retained presence
            return
        online = decode(OnlinePayload, topic, "online", raw).online
        if self.registry.set_online(site, vid, online):
            log.info("vehicle_presence", site_id=site, vehicle_id=vid, online=online)
            return
        # presence before any status (retained order is not guaranteed): keep it, bounded
        presence = self._presence
        presence.pop((site, vid), None)
        presence[(site, vid)] = online
        while len(presence) > self.settings.pending_presence_max:
            presence.pop(next(iter(presence)))

    def _on_ack(self, topic: str, parsed: ParsedTopic, raw: bytes | bytearray) -> None:
        site, vid = parsed.site_id, str(parsed.vehicle_id)
        payload = decode(AckPayload, topic, "ack", raw)
        check_id_matches(topic, "ack", "vehicle_id", payload.vehicle_id, vid)
        expected = self.expects_ack is not None and self.expects_ack(payload.order_id)
        if not expected and self.registry.get(site, vid) is None:
            self.metrics.inc(mm.UNKNOWN_VEHICLES, kind="ack")
            log.warning(
                "mqtt_unknown_vehicle", topic=topic, site_id=site, vehicle_id=vid, kind="ack"
            )
            return
        if self.on_ack is not None:
            self.on_ack(payload.to_ack(vid))

    def _on_signal(self, topic: str, parsed: ParsedTopic, raw: bytes | bytearray) -> None:
        payload = decode(SignalPayload, topic, "signal", raw)
        check_id_matches(topic, "signal", "site_id", payload.site_id, parsed.site_id)
        signal = payload.to_signal(parsed.site_id)
        if self.on_signal is None:
            log.info("mqtt_signal_unhandled", topic=topic, signal_id=signal.signal_id)
            return
        task = asyncio.create_task(
            self._handle_signal(self.on_signal, signal),
            name=f"signal:{signal.site_id}:{signal.signal_id}",
        )
        self._signal_tasks.add(task)
        task.add_done_callback(self._signal_tasks.discard)

    @staticmethod
    async def _handle_signal(handler: SignalHandler, signal: FlexibilitySignal) -> None:
        with structlog.contextvars.bound_contextvars(
            signal_id=signal.signal_id, site_id=signal.site_id
        ):
            try:
                await handler(signal)
            except Exception:
                log.exception("signal_handler_failed")
