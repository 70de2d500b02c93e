"""Orders, results and schedules out through the broker: the :class:`Publisher` port over MQTT.

Every order of a round is published at QoS 1 in one batch (:mod:`v2g.mqtt.batch`), with at
most ``max_in_flight`` publications waiting for their PUBACK at once (shared by every dispatch
using this publisher, and by its results and schedules).
Over MQTT 5 each order carries a message expiry interval (until ``expires_at``), the vehicle's
ack topic as response topic, and its ``order_id`` as correlation data.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import structlog

from dispatch.errors import PublishError
from dispatch.models import DispatchResult, Order
from dispatch.ports import Clock
from v2g.clock import SystemClock
from v2g.mqtt import metrics as mm
from v2g.mqtt.batch import Message
from v2g.mqtt.errors import MqttTransportError
from v2g.mqtt.payloads import OrderPayload, ResultPayload, SchedulePayload, encode
from v2g.mqtt.properties import PublishProperties
from v2g.mqtt.settings import Protocol
from v2g.mqtt.transport import MqttTransport

log = structlog.get_logger(__name__)


def expiry_interval_s(seconds_left: float) -> int:
    """MQTT 5 message expiry interval for an order due in ``seconds_left`` (at least 1 s)."""
    return max(1, math.ceil(seconds_left))


class MqttPublisher:
    """Implements :class:`dispatch.ports.Publisher` over an :class:`MqttTransport`."""

    def __init__(
        self,
        transport: MqttTransport,
        *,
        max_in_flight: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        limit = max_in_flight if max_in_flight is not None else transport.settings.max_in_flight
        if limit < 1:
            raise ValueError("max_in_flight must be >= 1")
        self.transport = transport
        self.max_in_flight = limit
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._slots = asyncio.Semaphore(limit)

    async def publish(self, orders: Sequence[Order]) -> Sequence[str]:
        """Publish every order; return the ids that failed. :class:`PublishError` if none went."""
        if not orders:
            return []
        signal_id = orders[0].signal_id
        if not self.transport.connected:
            raise PublishError(
                f"MQTT broker not connected, {len(orders)} orders not sent", signal_id=signal_id
            )
        try:
            unconfirmed = await self.transport.publish_batch(
                [self._order_message(order) for order in orders], window=self._slots
            )
        except MqttTransportError as exc:
            raise PublishError(
                f"{len(orders)} orders not sent: {exc}", signal_id=signal_id
            ) from exc
        failed = [orders[i].order_id for i in unconfirmed]
        if failed:
            self.transport.metrics.inc(mm.PUBLISH_FAILURES, len(failed), kind="order")
            log.warning(
                "orders_not_published", signal_id=signal_id, failed=len(failed), orders=len(orders)
            )
        if len(failed) == len(orders):
            raise PublishError(
                f"none of {len(orders)} orders could be published", signal_id=signal_id
            )
        return failed

    def _order_message(self, order: Order) -> Message:
        """Topic, payload and (MQTT 5) properties of one order."""
        topics = self.transport.topics
        properties = None
        if self.transport.settings.protocol is Protocol.V5:
            left_s = (order.expires_at - self.clock.now()).total_seconds()
            properties = PublishProperties(
                message_expiry_s=expiry_interval_s(left_s),
                response_topic=topics.ack(order.site_id, order.vehicle_id),
                correlation_data=order.order_id.encode(),
            )
        payload = encode(OrderPayload.from_order(order))
        return topics.order(order.site_id, order.vehicle_id), payload, properties

    async def publish_result(self, result: DispatchResult) -> None:
        """Publish a dispatch result, retained, on its signal's result topic."""
        topic = self.transport.topics.result(result.site_id, result.signal_id)
        await self._retained(topic, encode(ResultPayload.from_result(result)), "result")

    async def publish_schedule(
        self, site_id: str, vehicle_id: str, schedule: SchedulePayload
    ) -> None:
        """Publish a vehicle's charge plan, retained, on its schedule topic."""
        topic = self.transport.topics.schedule(site_id, vehicle_id)
        await self._retained(topic, encode(schedule), "schedule")

    async def _retained(self, topic: str, payload: bytes, kind: str) -> None:
        try:
            async with self._slots:
                await self.transport.publish(topic, payload, retain=True)
        except MqttTransportError:
            self.transport.metrics.inc(mm.PUBLISH_FAILURES, kind=kind)
            log.warning("mqtt_publish_failed", topic=topic, kind=kind)
            raise
