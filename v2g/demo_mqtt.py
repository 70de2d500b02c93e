"""``v2g demo``: the service and a simulated depot talking over a real MQTT broker.

The broker is the one at ``broker`` if given (``V2G_MQTT_URL``), else an
:class:`~v2g.embedded_broker.EmbeddedBroker` started inside the process (MQTT 3.1.1). On it run
the :class:`~v2g.service.Service` and a :class:`~v2g.simulator.gateways.GatewayFleet` whose
gateways answer late, refuse, answer in part or stay silent. Then, as an operator would, the
demo sends one discharge signal per dispatcher x fallback pair from an :class:`Operator`
session and waits for each result on its result topic.

One service serves every signal, journaling them in a temporary SQLite file (removed at the
end) or in ``V2G_DATABASE_URL`` if set; its MQTT session is a clean one. Before each signal its
manager is given the pair's dispatcher and fallback. Signal ``k`` covers the ``k``-th
half-hour from five minutes on, so the vehicles committed by one signal are free again for the
next.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Self, TextIO

import aiomqtt

from fleet import Direction
from v2g.demo import DemoRun, gateways, progress_line
from v2g.mqtt import MqttSettings, Protocol, ResultPayload, SignalPayload, TopicKind, Topics
from v2g.mqtt.payloads import encode
from v2g.service import Service
from v2g.settings import ServiceSettings
from v2g.sim import make_fleet
from v2g.simulator.gateways import GatewayFleet
from v2g.strategies import DISPATCHERS, FALLBACKS

SIGNAL_S = 1800
FLEET_ARRIVAL_TIMEOUT_S = 20.0
RESULT_MARGIN_S = 5.0


class DemoError(RuntimeError):
    """The demo could not run (the fleet never reached the service, a result never came)."""


async def run_mqtt_demo(
    vehicles: int = 300,
    *,
    seed: int = 7,
    ack_timeout_s: float = 1.0,
    max_latency_s: float = 0.25,
    site_id: str = "10",
    broker: MqttSettings | None = None,
    out: TextIO | None = None,
) -> list[DemoRun]:
    """Dispatch one signal per dispatcher x fallback pair through a broker; print progress."""
    out = out if out is not None else sys.stdout  # looked up now: tests replace it
    runs: list[DemoRun] = []
    failure: DemoError | None = None
    async with AsyncExitStack() as stack:
        if broker is None:
            try:  # amqtt is the demo's optional dependency (extra 'demo')
                from v2g.embedded_broker import EmbeddedBroker  # noqa: PLC0415
            except ImportError as exc:
                raise DemoError(
                    "the embedded broker needs amqtt: pip install -e '.[demo]' (make demo does), "
                    "or set V2G_MQTT_URL to a broker, or run with --in-process"
                ) from exc
            embedded = await stack.enter_async_context(EmbeddedBroker())
            broker = MqttSettings(host=embedded.host, port=embedded.port, protocol=Protocol.V311)
            where = f"embedded MQTT 3.1.1 broker on {embedded.host}:{embedded.port}"
        else:
            where = f"MQTT {broker.protocol.value} broker at {broker.host}:{broker.port}"
        mqtt = broker.model_copy(
            update={"topic_prefix": "v2g-demo", "sites": (site_id,), "client_id": None}
        )
        fleet = make_fleet(vehicles, site_id, seed=seed)
        capacity_kw = sum(v.effective_capacity(Direction.DISCHARGE, 0.5) for v in fleet)
        power_kw = round(0.6 * capacity_kw, -1)
        out.write(
            f"{where}: service and {vehicles} simulated gateways at site {site_id} "
            f"({capacity_kw:.0f} kW usable); each signal asks {power_kw:.0f} kW for 30 min.\n"
        )
        out.flush()
        # every session connects before the first signal: amqtt mishandles connects under load
        await stack.enter_async_context(
            GatewayFleet(mqtt, site_id, fleet, gateways(max_latency_s), seed=seed)
        )
        # dispatch only: the demo's site has no routes to plan (see `v2g plan` for planning)
        settings = ServiceSettings(
            sites=(site_id,), http_port=0, ack_timeout_s=ack_timeout_s, planning=False
        )
        if settings.database_url is None:  # a journal that leaves nothing behind
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="v2g-demo-"))
            settings = settings.model_copy(update={"database_url": f"sqlite:///{tmp}/journal.db"})
        service = await stack.enter_async_context(Service(settings, mqtt=mqtt, fleet_settle_s=0.2))
        operator = await stack.enter_async_context(Operator(mqtt, site_id))
        try:
            await _fleet_arrived(service, site_id, vehicles)
            out.write(f"The service sees {vehicles} vehicles; dispatching.\n")
            out.flush()
            await _dispatch_every_pair(service, operator, power_kw, runs, out)
        except DemoError as exc:  # raised after the clean shutdown, not inside a task group
            failure = exc
        await operator.forget_results()
    if failure is not None:
        raise failure
    return runs


class Operator:
    """A grid operator's session: sends signals and waits for their retained results."""

    def __init__(self, mqtt: MqttSettings, site_id: str) -> None:
        self.site_id = site_id
        self.topics = Topics(mqtt.topic_prefix)
        self.run_id = uuid.uuid4().hex[:8]  # signal ids never seen by this broker before
        self.sent: list[str] = []
        v5 = mqtt.protocol is Protocol.V5
        self._client = aiomqtt.Client(
            mqtt.host,
            mqtt.port,
            username=mqtt.username,
            password=mqtt.password.get_secret_value() if mqtt.password is not None else None,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            timeout=mqtt.operation_timeout_s,
        )
        self._results: dict[str, ResultPayload] = {}
        self._arrived = asyncio.Condition()
        self._receiver: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        """Connect and subscribe to every result of the site."""
        await self._client.__aenter__()
        await self._client.subscribe(f"{self.topics.signals(self.site_id)}/+/result", qos=1)
        self._receiver = asyncio.create_task(self._receive(), name="demo-operator")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Disconnect."""
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
        await self._client.__aexit__(None, None, None)

    async def send(self, signal: SignalPayload, timeout_s: float) -> ResultPayload:
        """Publish ``signal``; its result (:class:`DemoError` if none within ``timeout_s``)."""
        self.sent.append(signal.signal_id)
        await self._client.publish(self.topics.signals(self.site_id), encode(signal), qos=1)
        try:
            async with asyncio.timeout(timeout_s), self._arrived:
                await self._arrived.wait_for(lambda: signal.signal_id in self._results)
        except TimeoutError:
            raise DemoError(f"no result for {signal.signal_id} within {timeout_s:.0f} s") from None
        return self._results[signal.signal_id]

    async def forget_results(self) -> None:
        """Clear the retained results, so a shared broker keeps none of the demo's signals."""
        for signal_id in self.sent:
            topic = self.topics.result(self.site_id, signal_id)
            await self._client.publish(topic, b"", qos=1, retain=True)

    async def _receive(self) -> None:
        async for message in self._client.messages:
            raw = message.payload
            if not isinstance(raw, bytes | bytearray) or not raw:
                continue
            parsed = self.topics.parse(message.topic.value)
            if parsed.kind is not TopicKind.RESULT or parsed.signal_id is None:
                continue  # amqtt replays other sessions' retained messages on connect
            async with self._arrived:
                self._results[parsed.signal_id] = ResultPayload.model_validate_json(raw)
                self._arrived.notify_all()


async def _fleet_arrived(service: Service, site_id: str, vehicles: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FLEET_ARRIVAL_TIMEOUT_S
    while sum(1 for _ in service.registry.snapshot(site_id)) < vehicles:
        if loop.time() > deadline:
            raise DemoError(f"the service saw only {len(service.registry)} of {vehicles} vehicles")
        await asyncio.sleep(0.05)
    # the service freezes its start-up heap once the fleet has settled; wait for it, so that
    # its one full collection does not land inside the first dispatch
    try:
        await asyncio.wait_for(service.heap_frozen.wait(), FLEET_ARRIVAL_TIMEOUT_S)
    except TimeoutError:
        raise DemoError("the service did not settle with its fleet") from None


async def _dispatch_every_pair(
    service: Service, operator: Operator, power_kw: float, runs: list[DemoRun], out: TextIO
) -> None:
    manager = service.manager
    wait_s = manager.ack_timeout_s * (manager.max_fallback_rounds + 1) + RESULT_MARGIN_S
    first = datetime.now(UTC) + timedelta(minutes=5)
    for dname, make_dispatcher in DISPATCHERS.items():
        for fname, make_fallback in FALLBACKS.items():
            manager.dispatcher = make_dispatcher()
            manager.fallback = make_fallback()
            k = len(runs)
            signal = SignalPayload(
                signal_id=f"demo-{operator.run_id}-{k}",
                type="peak_shaving",
                direction="discharge",
                power_kw=power_kw,
                start=first + timedelta(seconds=k * SIGNAL_S),
                duration_s=SIGNAL_S,
            )
            t0 = time.perf_counter()
            result = await operator.send(signal, wait_s)
            runs.append(DemoRun(dname, fname, result, time.perf_counter() - t0))
            out.write(progress_line(runs[-1]))
            out.flush()


__all__ = ["DemoError", "Operator", "run_mqtt_demo"]
