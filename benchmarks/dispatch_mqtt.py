"""Dispatch over MQTT benchmark: signal-to-result through mosquitto next to a bare paho floor.

For each fleet size N it starts a private mosquitto (generated config: ``max_queued_messages``
and ``max_inflight_messages`` raised, no persistence, a free port; stopped at the end), then:

- **service**: the whole :class:`v2g.service.Service` in this process (Smart dispatcher, Noop
  fallback) and a :class:`v2g.simulator.GatewayFleet` of N identical vehicles in a child process
  (500 vehicles per session, every gateway accepting at once, no latency). Once the registry
  holds all N vehicles and the service has settled its heap, an operator client (in this
  process, connected beforehand) publishes a signal asking every vehicle's full power, and the
  time runs until the retained result arrives: **publish signal -> result message**;
- **floor**: bare paho-mqtt 2.x, MQTT 5, QoS 1, each client in a child process of its own:
  one plays the service (publishes N orders of the same size, response topic and correlation
  data included, with the same in-flight bound as the service, and waits for N acks), another
  plays all N gateways (answers each order at once). Time: first order -> N-th ack. Both
  clients are configured as the service's are (no in-flight bound inside paho: the sender
  keeps its own). Measured twice: with stock paho (the issue's floor) and **tuned**, with the
  service's paho properties (:mod:`v2g.mqtt.properties`), the floor the service's own
  overhead is measured against.

Each size gets one untimed warm-up of each, then ``--repeats`` timed runs, interleaved.
Dropped messages: orders sent (the results' per-vehicle order counts) against orders the
gateways received, and acks the gateways sent against acks matched (vehicles "accepted" in
the results). Target (issue): 10k vehicles within 1.5x of the floor, nothing dropped.

    python benchmarks/dispatch_mqtt.py [--sizes 1000 5000 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import multiprocessing as mp
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dispatch.models import DispatchStatus
from fleet import Direction, Vehicle
from v2g.mqtt import MqttSettings, ResultPayload, SignalPayload, Topics
from v2g.mqtt.payloads import encode
from v2g.mqtt.properties import PublishProperties, share_property_tables
from v2g.service import Service
from v2g.settings import ServiceSettings
from v2g.sim.behaviour import Behaviour, Reply
from v2g.simulator import GatewayFleet
from v2g.table import render_table

SITE = "10"
TARGET_RATIO = 1.5
BROKER_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
log_dest none
max_queued_messages {queued}
max_inflight_messages {inflight}
max_keepalive 600
"""


def _quiet() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def private_broker(binary: str, queued: int, inflight: int) -> Iterator[int]:
    """A mosquitto of our own on a free port; yields the port, stops the broker at the end."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(BROKER_CONF.format(port=port, queued=queued, inflight=inflight))
        proc = subprocess.Popen(  # noqa: S603 (our own config, a binary the operator names)
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 10.0
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        err = proc.stderr.read().decode() if proc.stderr else ""
                        raise RuntimeError(f"mosquitto did not start: {err}") from None
                    time.sleep(0.05)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _vehicles(n: int) -> list[Vehicle]:
    return [
        Vehicle(
            vehicle_id=f"ev{i:05d}",
            site_id=SITE,
            soc_pct=80.0,
            battery_kwh=75.0,
            max_charge_kw=11.0,
            max_discharge_kw=10.0,
        )
        for i in range(n)
    ]


# -- child processes: the gateways ----------------------------------------------------------


def _serve_commands(conn: Connection, counts: Any) -> None:
    """Answer ``counts`` with the current counters until ``stop`` (in the child's main thread)."""
    conn.send("ready")
    while True:
        command = conn.recv()
        if command == "stop":
            return
        conn.send(counts())


def fleet_process(port: int, prefix: str, n: int, in_flight: int, conn: Connection) -> None:
    """Run a :class:`GatewayFleet` of ``n`` accepting vehicles; report counts on request."""
    _quiet()

    class CountingFleet(GatewayFleet):
        orders_received = 0

        def _on_order(self, topic: str, payload: bytes, properties: Properties | None) -> None:
            self.orders_received += 1
            super()._on_order(topic, payload, properties)

    settings = MqttSettings(
        port=port,
        topic_prefix=prefix,
        connect_timeout_s=30.0,
        operation_timeout_s=60.0,
        max_in_flight=in_flight,
    )

    async def main() -> None:
        behaviour = Behaviour.always(Reply.ACCEPT)
        async with CountingFleet(settings, SITE, _vehicles(n), behaviour, seed=1) as fleet:
            loop = asyncio.get_running_loop()
            runner = asyncio.create_task(fleet.run())
            conn.send("ready")
            while True:
                command = await loop.run_in_executor(None, conn.recv)
                if command == "stop":
                    break
                conn.send((fleet.orders_received, len(fleet.acks_sent), time.process_time()))
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    asyncio.run(main())


def floor_gateway_process(port: int, prefix: str, tuned: bool, conn: Connection) -> None:
    """One bare paho client answering every order on its response topic, at once.

    ``tuned``: with the service's paho properties (shared ``Properties`` tables, properties
    packed once), else stock paho. Either way configured for speed: no in-flight bound inside
    paho, as in the service and the simulator.
    """
    if tuned:
        share_property_tables()
    lock = threading.Lock()
    counters = {"orders": 0, "acks": 0}
    ready = threading.Event()

    def on_connect(c: paho.Client, *_: Any) -> None:
        c.subscribe(f"{prefix}/{SITE}/vehicles/+/order", qos=1)

    def on_subscribe(*_: Any) -> None:
        ready.set()

    def on_message(c: paho.Client, _: Any, msg: paho.MQTTMessage) -> None:
        correlation = msg.properties.CorrelationData  # type: ignore[union-attr]
        if tuned:
            props: Properties = PublishProperties(correlation_data=correlation)
        else:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.CorrelationData = correlation
        body = b'{"status":"accepted","accepted_kw":10.0}'
        c.publish(msg.properties.ResponseTopic, body, qos=1, properties=props)  # type: ignore[union-attr]
        with lock:
            counters["orders"] += 1
            counters["acks"] += 1

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    # no bound inside paho (it would rescan its outgoing queue on every PUBACK): the acks are
    # bounded by the orders the floor's sender keeps in flight
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect("127.0.0.1", port, keepalive=600)
    client.loop_start()
    ready.wait(10.0)
    try:
        _serve_commands(conn, lambda: (counters["orders"], counters["acks"], time.process_time()))
    finally:
        client.disconnect()
        client.loop_stop()


def floor_service_process(  # noqa: PLR0917 (a process target: its arguments are positional)
    port: int, prefix: str, n: int, in_flight: int, tuned: bool, conn: Connection
) -> None:
    """The bare paho client playing the service: one round trip of N orders per ``run`` command."""
    if tuned:
        share_property_tables()
    floor = FloorService(port, prefix, n, in_flight, tuned=tuned)
    conn.send("ready")
    try:
        while True:
            command = conn.recv()
            if command == "stop":
                return
            _, run, timeout_s = command
            cpu0 = time.process_time()
            seconds, acks = floor.round_trip(run, timeout_s)
            conn.send((seconds, acks, time.process_time() - cpu0))
    finally:
        floor.close()


@contextlib.contextmanager
def child(target: Any, *args: Any) -> Iterator[Connection]:
    """Start ``target(*args, conn)`` in a spawned process; stop it at the end."""
    parent, there = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=target, args=(*args, there), daemon=True)
    proc.start()
    try:
        if not parent.poll(300.0) or parent.recv() != "ready":
            raise RuntimeError(f"{target.__name__} did not start")
        yield parent
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        proc.join(30.0)
        if proc.is_alive():
            proc.terminate()
            proc.join()


def counts(conn: Connection) -> tuple[int, int, float]:
    """(orders received, acks sent, CPU seconds) of a gateway child so far."""
    conn.send("counts")
    got: tuple[int, int, float] = conn.recv()
    return got


# -- measurements ---------------------------------------------------------------------------


@dataclass
class Tally:
    """Times and message counts of one side (service or floor) for one size."""

    times_s: list[float] = field(default_factory=list)
    service_cpu_s: list[float] = field(default_factory=list)  # a floor: its paho client's
    fleet_cpu_s: list[float] = field(default_factory=list)  # a floor: its paho responder's
    orders_sent: int = 0
    orders_received: int = 0
    acks_sent: int = 0
    acks_matched: int = 0

    @property
    def dropped(self) -> int:
        return (self.orders_sent - self.orders_received) + (self.acks_sent - self.acks_matched)


class FloorService:
    """The bare paho client playing the service: N orders out, N acks back."""

    def __init__(self, port: int, prefix: str, n: int, in_flight: int, *, tuned: bool) -> None:
        self.prefix, self.n, self.tuned = prefix, n, tuned
        self.done = threading.Event()
        self.acks = 0
        self.expected = 0
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.in_flight = in_flight
        self._next: Iterator[tuple[str, bytes, Properties]] = iter(())
        self._next_lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        # like the service: the sender bounds what is in flight (a PUBACK releases the next
        # order); paho's own bound would rescan its whole outgoing queue on every PUBACK
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self.client.on_message = self._on_ack
        self.client.on_publish = self._on_puback
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", port, keepalive=600)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/{SITE}/vehicles/+/ack", qos=1)
        if not subscribed.wait(10.0):
            raise RuntimeError("floor client did not subscribe")

    def _send_next(self) -> bool:
        """Publish the next order, if any (never under ``_lock``: paho calls ``on_publish``
        holding its outgoing-queue lock, which ``publish`` takes too)."""
        with self._next_lock:
            message = next(self._next, None)
        if message is None:
            return False
        topic, payload, props = message
        self.client.publish(topic, payload, qos=1, properties=props)
        return True

    def _on_puback(self, *_: Any) -> None:
        self._send_next()

    def _on_ack(self, *_: Any) -> None:
        with self._lock:
            self.acks += 1
            if self.acks >= self.expected:
                self.done.set()

    def round_trip(self, run: int, timeout_s: float) -> tuple[float, int]:
        """Seconds from the first order to the N-th ack; acks received."""
        now = datetime.now(UTC)
        start, end = now + timedelta(hours=run + 1), now + timedelta(hours=run + 1.5)
        template = {
            "signal_id": f"floor-{run}",
            "direction": "discharge",
            "power_kw": 10.0,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "expires_at": (now + timedelta(seconds=30)).isoformat(),
        }
        with self._lock:
            self.acks, self.expected = 0, self.n
            self.done.clear()

        def orders() -> Iterator[tuple[str, bytes, Properties]]:
            for i in range(self.n):
                order_id = uuid.uuid4().hex
                vehicle = f"{self.prefix}/{SITE}/vehicles/ev{i:05d}"
                if self.tuned:
                    props: Properties = PublishProperties(
                        message_expiry_s=30,
                        response_topic=f"{vehicle}/ack",
                        correlation_data=order_id.encode(),
                    )
                else:
                    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                    props.MessageExpiryInterval = 30
                    props.ResponseTopic = f"{vehicle}/ack"
                    props.CorrelationData = order_id.encode()
                payload = json.dumps({"order_id": order_id, **template}).encode()
                yield f"{vehicle}/order", payload, props

        self._next = orders()
        t0 = time.perf_counter()
        for _ in range(self.in_flight):
            if not self._send_next():
                break
        self.done.wait(timeout_s)
        elapsed = time.perf_counter() - t0
        with self._lock:
            return elapsed, self.acks

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Floor:
    """One floor's two bare paho children (service client, gateways) and its tally."""

    client: Connection
    gateways: Connection
    tally: Tally = field(default_factory=Tally)


@dataclass
class Bench:
    """One size's moving parts: the broker port, the prefix, the gateway children, the floors."""

    port: int
    prefix: str
    n: int
    in_flight: int
    fleet: Connection
    floors: dict[str, Floor]  # "stock" and "tuned" paho
    service: Tally = field(default_factory=Tally)


async def floor_once(bench: Bench, floor: Floor, run: int) -> float:
    """One bare round trip of N orders and N acks (the service idle meanwhile)."""
    before = counts(floor.gateways)
    loop = asyncio.get_running_loop()
    floor.client.send(("run", run + 100, 60.0))
    reply: tuple[float, int, float] = await loop.run_in_executor(None, floor.client.recv)
    seconds, acks, cpu_s = reply
    after = counts(floor.gateways)
    if run >= 0:
        bare = floor.tally
        bare.times_s.append(seconds)
        bare.service_cpu_s.append(cpu_s)
        bare.fleet_cpu_s.append(after[2] - before[2])
        bare.orders_sent += bench.n
        bare.orders_received += after[0] - before[0]
        bare.acks_sent += after[1] - before[1]
        bare.acks_matched += acks
    return seconds


async def service_once(
    bench: Bench, operator: aiomqtt.Client, run: int
) -> tuple[float, float, float, ResultPayload]:
    """Publish a signal needing every vehicle (in its own hour); wait for its result."""
    n = bench.n
    per_vehicle_kw = _vehicles(1)[0].effective_capacity(Direction.DISCHARGE, 0.5)
    signal_id = f"bench-{n}-{run + 1}"
    payload = SignalPayload(
        signal_id=signal_id,
        type="peak_shaving",
        direction="discharge",
        power_kw=round(per_vehicle_kw * n, 6),
        start=datetime.now(UTC) + timedelta(hours=run + 2),
        duration_s=1800,
    )
    before = counts(bench.fleet)
    gc.collect()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await operator.publish(Topics(bench.prefix).signals(SITE), encode(payload), qos=1)
    async with asyncio.timeout(120.0):
        async for message in operator.messages:
            raw = message.payload
            if isinstance(raw, bytes | bytearray) and raw:
                result = ResultPayload.model_validate_json(raw)
                if result.signal_id == signal_id:
                    break
    seconds = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0
    await asyncio.sleep(0.2)  # let stray acks (none expected) reach the counters
    after = counts(bench.fleet)
    if result.status is not DispatchStatus.FULFILLED or len(result.vehicles) != n:
        print(f"{signal_id}: {result.status}, {len(result.vehicles)} vehicles", file=sys.stderr)
    fleet_cpu_s = after[2] - before[2]
    if run >= 0:
        tally = bench.service
        tally.times_s.append(seconds)
        tally.service_cpu_s.append(cpu_s)
        tally.fleet_cpu_s.append(fleet_cpu_s)
        tally.orders_sent += sum(v.orders for v in result.vehicles)
        tally.orders_received += after[0] - before[0]
        tally.acks_sent += after[1] - before[1]
        tally.acks_matched += sum(1 for v in result.vehicles if v.outcome == "accepted")
    return seconds, cpu_s, fleet_cpu_s, result


async def measure(bench: Bench, runs: list[int]) -> None:
    """Run the Service against the fleet child; interleave the floor's round trips."""
    mqtt = MqttSettings(
        port=bench.port,
        topic_prefix=bench.prefix,
        connect_timeout_s=30.0,
        operation_timeout_s=60.0,
        max_in_flight=bench.in_flight,
    )
    settings = ServiceSettings.model_validate(
        {
            "mqtt_url": f"mqtt://127.0.0.1:{bench.port}",
            "topic_prefix": bench.prefix,
            "sites": (SITE,),
            "http_port": 0,
            "dispatcher": "smart",
            "fallback": "noop",
            "ack_timeout_s": 30.0,
        }
    )
    loop = asyncio.get_running_loop()
    async with (
        Service(settings, mqtt=mqtt, fleet_settle_s=0.5) as service,
        aiomqtt.Client("127.0.0.1", bench.port, protocol=aiomqtt.ProtocolVersion.V5) as operator,
    ):
        await operator.subscribe(f"{bench.prefix}/{SITE}/signals/+/result", qos=1)
        deadline = loop.time() + 300.0
        # the registry has no change event to wait on: poll it
        while len(service.registry) < bench.n and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if len(service.registry) < bench.n:
            raise RuntimeError(f"registry holds {len(service.registry)} of {bench.n} vehicles")
        await asyncio.wait_for(service.heap_frozen.wait(), 60.0)
        for run in runs:
            floors = [
                f"{name} floor {await floor_once(bench, floor, run):.3f} s"
                for name, floor in bench.floors.items()
            ]
            seconds, cpu_s, fleet_cpu_s, result = await service_once(bench, operator, run)
            print(
                f"n={bench.n} {'warm-up' if run < 0 else f'run {run}'}: {', '.join(floors)},"
                f" signal-to-result {seconds:.3f} s (manager {result.duration_s:.3f} s;"
                f" CPU service {cpu_s:.2f} s, fleet {fleet_cpu_s:.2f} s)",
                file=sys.stderr,
                flush=True,
            )


def p95(values: list[float]) -> float:
    """95th percentile (linear interpolation between order statistics)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def measure_size(
    port: int, n: int, repeats: int, in_flight: int, floor_in_flight: int
) -> list[object]:
    """One table row for a fleet of ``n`` vehicles."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        fleet = stack.enter_context(child(fleet_process, port, prefix, n, in_flight))
        floors: dict[str, Floor] = {}
        for name, with_tuning in (("stock", False), ("tuned", True)):
            floor_prefix = f"{prefix}-{name}"
            gateways = stack.enter_context(
                child(floor_gateway_process, port, floor_prefix, with_tuning)
            )
            client = stack.enter_context(
                child(floor_service_process, port, floor_prefix, n, floor_in_flight, with_tuning)
            )
            floors[name] = Floor(client, gateways)
        bench = Bench(port, prefix, n, in_flight, fleet, floors)
        asyncio.run(measure(bench, [-1, *range(repeats)]))  # one warm-up, then timed runs
    service, stock, tuned = bench.service, floors["stock"].tally, floors["tuned"].tally
    median = statistics.median(service.times_s)

    def cpu(tally: Tally) -> str:
        sender, answerer = tally.service_cpu_s, tally.fleet_cpu_s
        return f"{statistics.median(sender):.2f}+{statistics.median(answerer):.2f}"

    return [
        n,
        f"{median:.3f}",
        f"{p95(service.times_s):.3f}",
        f"{statistics.median(stock.times_s):.3f}",
        f"{median / statistics.median(stock.times_s):.2f}",
        f"{statistics.median(tuned.times_s):.3f}",
        f"{median / statistics.median(tuned.times_s):.2f}",
        service.orders_sent,
        service.orders_received,
        service.acks_matched,
        service.dropped,
        stock.dropped + tuned.dropped,
        cpu(service),
        cpu(stock),
        cpu(tuned),
    ]


HEADERS = [
    "vehicles",
    "median_s",
    "p95_s",
    "floor_s",
    "ratio",
    "tuned floor_s",
    "ratio to tuned",
    "orders sent",
    "orders received",
    "acks matched",
    "dropped",
    "floors dropped",
    "CPU s service+fleet",
    "CPU s floor",
    "CPU s tuned floor",
]


def main() -> None:
    """Parse arguments, start the broker, measure every size, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 10_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    parser.add_argument("--in-flight", type=int, default=512, help="service and fleet")
    parser.add_argument("--floor-in-flight", type=int, default=512, help="bare paho clients")
    parser.add_argument("--max-queued", type=int, default=100_000, help="broker, per client")
    parser.add_argument("--max-inflight", type=int, default=1_000, help="broker, per client")
    args = parser.parse_args()
    _quiet()
    rows = []
    with private_broker(args.mosquitto, args.max_queued, args.max_inflight) as port:
        for n in args.sizes:
            rows.append(measure_size(port, n, args.repeats, args.in_flight, args.floor_in_flight))
    print(render_table(HEADERS, rows))
    for row in rows:
        if row[0] == 10_000:
            ratio = float(str(row[4]))
            ok = ratio <= TARGET_RATIO and row[10] == 0
            print(f"10k target (<= {TARGET_RATIO}x floor, 0 dropped): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
