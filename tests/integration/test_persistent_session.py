"""The transport's persistent MQTT session against the real broker, and its held PUBACKs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiomqtt
import pytest

from dispatch import Ack
from fleet import FleetRegistry
from tests.integration.gateway import eventually, forget_session
from v2g.mqtt import MqttSettings, MqttTransport, Protocol, Topics

SITE = "10"


@pytest.fixture
async def client_id(broker: tuple[str, int]) -> AsyncIterator[str]:
    """A client id of its own; its session is ended on the broker after the test."""
    identifier = f"v2g-test-{uuid.uuid4().hex[:10]}"
    yield identifier
    await forget_session(broker, identifier)


@asynccontextmanager
async def transport(
    settings: MqttSettings, received: list[Ack], barrier: Callable[[], Awaitable[object]] | None
) -> AsyncIterator[MqttTransport]:
    """A connected transport passing every ack to ``received``."""
    t = MqttTransport(settings, registry=FleetRegistry(), on_ack=received.append)
    t.expects_ack = lambda order_id: True  # no fleet here: every ack is expected
    t.ack_barrier = barrier
    async with t:
        yield t


async def publish_ack(client: aiomqtt.Client, topics: Topics, order_id: str) -> None:
    """ev1 accepts ``order_id`` (QoS 1)."""
    body = {"order_id": order_id, "vehicle_id": "ev1", "status": "accepted", "accepted_kw": 1.0}
    await client.publish(topics.ack(SITE, "ev1"), json.dumps(body), qos=1)


async def never() -> None:
    """A barrier that does not pass: the journal cannot write."""
    await asyncio.Event().wait()


async def passes() -> None:
    """A barrier that passes at once."""


@pytest.mark.parametrize("protocol", [Protocol.V5, Protocol.V311])
async def test_acks_sent_while_the_service_is_away_reach_it_when_it_returns(
    settings: MqttSettings, client: aiomqtt.Client, client_id: str, protocol: Protocol
) -> None:
    """With a client id the broker keeps the subscriptions and queues the QoS 1 acks that
    arrive while the service is disconnected (MQTT 5 and 3.1.1)."""
    persistent = settings.model_copy(update={"client_id": client_id, "protocol": protocol})
    topics = Topics(settings.topic_prefix)
    received: list[Ack] = []
    async with transport(persistent, received, passes):
        pass
    await publish_ack(client, topics, "o-while-away")
    async with transport(persistent, received, passes):
        await eventually(lambda: [a.order_id for a in received] == ["o-while-away"])


async def test_without_a_client_id_nothing_is_kept_for_the_service(
    settings: MqttSettings, client: aiomqtt.Client
) -> None:
    """The default (no client id) starts clean: what came while away is gone."""
    topics = Topics(settings.topic_prefix)
    received: list[Ack] = []
    async with transport(settings, received, None):
        pass
    await publish_ack(client, topics, "o-while-away")
    async with transport(settings, received, None):
        await publish_ack(client, topics, "o-after")
        await eventually(lambda: bool(received))
        await asyncio.sleep(0.1)
    assert [a.order_id for a in received] == ["o-after"]


async def test_an_ack_whose_barrier_did_not_pass_is_delivered_again(
    settings: MqttSettings, client: aiomqtt.Client, client_id: str
) -> None:
    """An ack read while the journal cannot write gets no PUBACK: after the service goes
    away, the broker hands it over again. With a barrier that passes it comes once."""
    persistent = settings.model_copy(update={"client_id": client_id})
    topics = Topics(settings.topic_prefix)
    received: list[Ack] = []
    async with transport(persistent, received, never):
        await publish_ack(client, topics, "o-held")
        await eventually(lambda: len(received) == 1)
    async with transport(persistent, received, passes):
        await eventually(lambda: len(received) == 2)
        assert [a.order_id for a in received] == ["o-held", "o-held"]
        await publish_ack(client, topics, "o-released")
        await eventually(lambda: len(received) == 3)
    async with transport(persistent, received, passes):
        await asyncio.sleep(0.2)
    assert [a.order_id for a in received] == ["o-held", "o-held", "o-released"]
