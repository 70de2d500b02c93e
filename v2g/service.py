"""The running service: fleet registry, dispatch manager, MQTT, metrics and HTTP probes.

``async with Service(settings) as service: await service.wait_stopped()`` opens the dispatch
journal (``database_url``; see :mod:`v2g.service_journal`) and loads the dispatches a crash or
restart left in flight, connects to the broker (the retained status/online messages then build
the fleet; with a persistent session, the acks and signals queued while the service was down
follow), completes the recovered dispatches (:mod:`v2g.recovery`), runs the planning side (fleet
memory, periodic allocation and scheduling: :mod:`v2g.service_planning`), serves ``/healthz``,
``/readyz`` and ``/metrics``, and dispatches every signal received for the configured sites
in its own named task of the service's task group:
``on_signal -> manager.dispatch(signal) -> publisher.publish_result(result)``.
A repeated ``signal_id`` gets its stored result published again and sends no orders. Acks
naming a recovered dispatch's orders go to the recovery, every other ack to the manager.
Signals that arrive while the service is still starting wait until it accepts them.

:meth:`Service.stop` (wired to SIGTERM/SIGINT by ``v2g serve``) makes the context exit: new
signals are refused, dispatches in flight get ``ack_timeout_s * (rounds + 1) + margin`` to
finish (:meth:`Service.drain`), the rest are cancelled and reported, then everything closes.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import structlog

from dispatch import Ack, DispatchManager, DispatchResult, FlexibilitySignal
from dispatch.ports import Clock
from fleet import FleetRegistry
from metrics import PrometheusSink
from metrics import catalog as m
from v2g.clock import SystemClock
from v2g.heap import settle_heap
from v2g.http import HealthServer
from v2g.mqtt import MqttPublisher, MqttSettings, MqttTransport
from v2g.recovery import Recovery
from v2g.service_journal import service_journal
from v2g.service_planning import PlanningService
from v2g.settings import ServiceSettings
from v2g.strategies import DISPATCHERS, FALLBACKS

log = structlog.get_logger(__name__)

DRAIN_MARGIN_S = 2.0


@dataclass(frozen=True)
class DrainReport:
    """What became of the dispatches in flight when the service stopped."""

    finished: tuple[str, ...] = ()
    abandoned: tuple[str, ...] = ()


class Service:
    """Wires the adapters around one :class:`DispatchManager`; an async context manager."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        mqtt: MqttSettings | None = None,
        clock: Clock | None = None,
        sink: PrometheusSink | None = None,
        fleet_settle_s: float = 1.0,
        fleet_settle_max_s: float = 30.0,
        drain_margin_s: float = DRAIN_MARGIN_S,
    ) -> None:
        settings.require_sites()
        self.settings = settings
        self.sink = sink if sink is not None else PrometheusSink()
        self.registry = FleetRegistry()
        self.transport = MqttTransport(
            mqtt if mqtt is not None else settings.mqtt_settings(),
            registry=self.registry,
            on_signal=self._on_signal,
            metrics=self.sink,
        )
        self.publisher = MqttPublisher(self.transport)
        self.manager = DispatchManager(
            fleet=self.registry,
            publisher=self.publisher,
            clock=clock if clock is not None else SystemClock(),
            dispatcher=DISPATCHERS[settings.dispatcher](),
            fallback=FALLBACKS[settings.fallback](),
            ack_timeout_s=settings.ack_timeout_s,
            max_fallback_rounds=settings.max_fallback_rounds,
            metrics=self.sink,
        )
        self.transport.on_ack = self._on_ack
        self.recovery: Recovery | None = None
        self.planning: PlanningService | None = None
        self.http = HealthServer(
            settings.http_host,
            settings.http_port,
            ready=lambda: self.transport.connected,
            metrics=lambda: (self.sink.render(), self.sink.content_type),
        )
        self.fleet_settle_s = fleet_settle_s
        self.fleet_settle_max_s = fleet_settle_max_s
        self.drain_timeout_s = (
            settings.ack_timeout_s * (settings.max_fallback_rounds + 1) + drain_margin_s
        )
        self.drain_report: DrainReport | None = None
        self.heap_frozen = asyncio.Event()
        self._unsettle: Callable[[], None] | None = None
        self._accepting = False
        self._started = asyncio.Event()
        self._stop = asyncio.Event()
        self._dispatches: dict[asyncio.Task[None], str] = {}
        self._group: asyncio.TaskGroup | None = None
        self._freezer: asyncio.Task[None] | None = None
        self._fleet_gauges: asyncio.Task[None] | None = None
        self._recovering: asyncio.Task[None] | None = None
        self._stack = AsyncExitStack()

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Open the journal, connect, start HTTP, recovery and the background tasks; accept."""
        async with AsyncExitStack() as stack:
            journaling = await stack.enter_async_context(
                service_journal(
                    self.settings,
                    manager=self.manager,
                    on_result=self._recovered,
                    metrics=self.sink,
                )
            )
            if journaling is not None:
                self.recovery = journaling.recovery
                self.transport.expects_ack = journaling.recovery.expects
                self.transport.ack_barrier = journaling.journal.flush
            await stack.enter_async_context(self.transport)
            await stack.enter_async_context(self.http)
            self._group = await stack.enter_async_context(asyncio.TaskGroup())
            self._freezer = self._group.create_task(self._freeze_heap(), name="service-freeze-heap")
            self._fleet_gauges = self._group.create_task(
                self._report_fleet(), name="service-fleet-gauges"
            )
            if self.recovery is not None and self.recovery.dispatches:
                self._recovering = self._group.create_task(
                    self._recover(self.recovery), name="service-recovery"
                )
            self._accepting = True
            self._started.set()
            if journaling is not None:  # last in, first out: it publishes through the transport
                self.planning = await stack.enter_async_context(
                    PlanningService(
                        journaling.db,
                        self.registry,
                        self.settings.sites,
                        sink=self.sink,
                        clock=self.manager.clock,
                        publish_schedule=self.publisher.publish_schedule,
                        enabled=self.settings.planning,
                        workers=self.settings.planning_workers,
                        log_level=self.settings.log_level,
                    )
                )
            self._stack = stack.pop_all()
        log.info("service_started", sites=list(self.settings.sites), http_port=self.http.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drain the dispatches in flight, then close HTTP and the broker connection."""
        try:
            await self.drain()
        finally:
            self._stop.set()
            if self._freezer is not None:
                self._freezer.cancel()  # stopped before the fleet settled: nothing to freeze
            if self._fleet_gauges is not None:
                self._fleet_gauges.cancel()
            if self._recovering is not None:  # unfinished: still in flight in the journal
                self._recovering.cancel()
            await self._stack.__aexit__(exc_type, exc, tb)
            if self._unsettle is not None:
                self._unsettle()
            log.info("service_stopped")

    def stop(self) -> None:
        """Ask the service to stop (safe from a signal handler); :meth:`wait_stopped` returns."""
        self._accepting = False
        self._stop.set()

    async def wait_stopped(self) -> None:
        """Wait until :meth:`stop` is called."""
        await self._stop.wait()

    @property
    def in_flight(self) -> tuple[str, ...]:
        """Signal ids being dispatched right now."""
        return tuple(self._dispatches.values())

    async def drain(self) -> DrainReport:
        """Refuse new signals; give dispatches in flight ``drain_timeout_s`` to finish."""
        if self.drain_report is not None:
            return self.drain_report
        self._accepting = False
        tasks = dict(self._dispatches)
        if tasks:
            log.info("service_draining", in_flight=len(tasks), timeout_s=self.drain_timeout_s)
            _, pending = await asyncio.wait(tasks, timeout=self.drain_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        else:
            pending = set()
        report = DrainReport(
            finished=tuple(sid for t, sid in tasks.items() if t not in pending),
            abandoned=tuple(sid for t, sid in tasks.items() if t in pending),
        )
        if report.abandoned:
            log.warning("dispatches_abandoned", signal_ids=list(report.abandoned))
        self.drain_report = report
        return report

    # -- signals -----------------------------------------------------------------------------

    async def _on_signal(self, signal: FlexibilitySignal) -> None:
        """Called by the transport: hand the dispatch to the service's own task group."""
        if not self._started.is_set() and not self._stop.is_set():
            await self._started.wait()  # queued by the broker while we were down
        if not self._accepting or self._group is None:
            log.warning("signal_refused", reason="service stopping")
            return
        task = self._group.create_task(
            self._dispatch(signal), name=f"dispatch:{signal.site_id}:{signal.signal_id}"
        )
        self._dispatches[task] = signal.signal_id
        task.add_done_callback(self._dispatches.pop)

    async def _dispatch(self, signal: FlexibilitySignal) -> None:
        with structlog.contextvars.bound_contextvars(
            signal_id=signal.signal_id, site_id=signal.site_id
        ):
            try:
                result: DispatchResult
                if self.recovery is not None and self.recovery.recovering(signal.signal_id):
                    self.sink.inc(m.SIGNALS_REPEATED, site=signal.site_id)
                    result = await self.recovery.result_of(signal.signal_id)
                else:
                    result = await self.manager.dispatch(signal)
                await self.publisher.publish_result(result)
            except Exception:  # one failed dispatch must not take the task group down
                log.exception("signal_handling_failed")

    def _on_ack(self, ack: Ack) -> None:
        """From the transport: recovered orders' acks to the recovery, others to the manager."""
        if self.recovery is None or self.recovery.handle_ack(ack) is None:
            self.manager.handle_ack(ack)

    @staticmethod
    async def _recover(recovery: Recovery) -> None:
        try:
            await recovery.run()
        except Exception:  # must not take the task group down; the journal still has them
            log.exception("recovery_failed")

    async def _recovered(self, result: DispatchResult) -> None:
        """A dispatch completed by the recovery: remembered, and published like any result."""
        self.manager.remember(result)
        await self.publisher.publish_result(result)

    def report_fleet(self) -> None:
        """Set the fleet gauge (vehicles online and offline) for every served site."""
        for site in self.settings.sites:
            known = 0
            online = 0
            for vehicle in self.registry.snapshot(site):
                known += 1
                online += vehicle.online
            self.sink.set(m.FLEET_VEHICLES, online, site=site, state="online")
            self.sink.set(m.FLEET_VEHICLES, known - online, site=site, state="offline")

    async def _report_fleet(self, every_s: float = 5.0) -> None:
        # a periodic count is cheaper than recounting on every telemetry message
        while True:
            self.report_fleet()
            await asyncio.sleep(every_s)

    async def _freeze_heap(self) -> None:
        """Once the retained fleet has arrived, move the long-lived heap out of the collector.

        Every vehicle, order book and payload model built at start-up would otherwise be
        traversed by each full collection, inside whichever dispatch triggers it; see
        :func:`v2g.heap.settle_heap` (freeze, and rarer collections).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.fleet_settle_max_s
        seen = -1
        while len(self.registry) != seen and loop.time() < deadline:
            seen = len(self.registry)  # the fleet is settled when it stops growing
            await asyncio.sleep(self.fleet_settle_s)
        self._unsettle = settle_heap()
        self.heap_frozen.set()
        log.info("heap_frozen", vehicles=len(self.registry), frozen=gc.get_freeze_count())
