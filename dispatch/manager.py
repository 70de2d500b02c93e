"""The dispatch manager: signal in, orders out, acks gathered, fallback applied, result back.

One ``await manager.dispatch(signal)`` per signal:

1. a known ``signal_id`` returns its stored result (or joins the dispatch in flight); the
   signal is written to the :class:`~dispatch.ports.DispatchJournal` (which may know the id
   from before a restart, and then returns the stored result);
2. under the site's lock: discover the fleet, filter, build the candidates, allocate (off the
   event loop), book the chosen vehicles; dispatches of other sites run meanwhile, and a
   second signal for the same site sees the first one's bookings;
3. round 0: journal, register and publish all orders at once, then wait for the acks under one
   ``ack_timeout_s`` (acks arrive through :meth:`DispatchManager.handle_ack`);
4. while power is missing and rounds remain, the fallback proposes follow-up orders, the
   manager clamps them to what each vehicle may still take, books and sends them;
5. release vehicles that delivered nothing, record participation, tune the weights, emit
   :class:`~dispatch.events.DispatchCompleted`, record metrics, keep and journal the result.

A journal that cannot write the signal or a round's orders ends the dispatch there: nothing
more is published, vehicles that delivered nothing are released, the reason says why.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from dataclasses import replace
from datetime import datetime

import numpy as np
import structlog
from numpy.typing import NDArray

from dispatch.acks import AckVerdict, OrderBook
from dispatch.candidates import Candidates
from dispatch.clamp import clamp_amounts
from dispatch.commitments import CommitmentLedger
from dispatch.dispatchers import Dispatcher, SmartDispatcher
from dispatch.errors import ConfigurationError
from dispatch.events import DispatchStarted, FallbackApplied
from dispatch.fallbacks import Fallback, FallbackContext, NoopFallback
from dispatch.filters import SimpleVehicleFilter, VehicleFilter
from dispatch.models import Ack, DispatchResult, DispatchStatus, FlexibilitySignal
from dispatch.participation import ParticipationTracker
from dispatch.ports import Clock, DispatchJournal, JournalError, NopJournal, Publisher
from dispatch.reporting import report_ack_not_counted, report_result
from dispatch.rounds import RoundSender
from dispatch.state import DispatchState, tolerance_kw
from dispatch.tuner import LearningTuner
from dispatch.weights import WeightTable
from eventbus import EventBus
from fleet import FleetDiscovery
from metrics import MetricsSink, NopSink
from metrics import catalog as m

log = structlog.get_logger(__name__)

FloatArray = NDArray[np.float64]


class DispatchManager:
    """Orchestrates dispatches; see the module docstring for the sequence."""

    def __init__(
        self,
        *,
        fleet: FleetDiscovery,
        publisher: Publisher,
        clock: Clock,
        dispatcher: Dispatcher | None = None,
        fallback: Fallback | None = None,
        vehicle_filter: VehicleFilter | None = None,
        ack_timeout_s: float = 5.0,
        max_fallback_rounds: int = 2,
        min_order_kw: float = 0.01,
        metrics: MetricsSink | None = None,
        events: EventBus | None = None,
        tuner: LearningTuner | None = None,
        participation: ParticipationTracker | None = None,
        results_kept: int = 10_000,
        journal: DispatchJournal | None = None,
    ) -> None:
        if not ack_timeout_s > 0:
            raise ConfigurationError("ack_timeout_s must be > 0")
        if max_fallback_rounds < 0:
            raise ConfigurationError("max_fallback_rounds must be >= 0")
        if min_order_kw < 0:
            raise ConfigurationError("min_order_kw must be >= 0")
        self.fleet = fleet
        self.publisher = publisher
        self.clock = clock
        self.dispatcher: Dispatcher = dispatcher if dispatcher is not None else SmartDispatcher()
        self.fallback: Fallback = fallback if fallback is not None else NoopFallback()
        self.filter: VehicleFilter = vehicle_filter or SimpleVehicleFilter()
        self.ack_timeout_s = ack_timeout_s
        self.max_fallback_rounds = max_fallback_rounds
        self.min_order_kw = min_order_kw
        self.metrics: MetricsSink = metrics if metrics is not None else NopSink()
        self.events = events if events is not None else EventBus()
        self.tuner = tuner
        self.participation = participation if participation is not None else ParticipationTracker()
        self.ledger = CommitmentLedger()
        self.book = OrderBook()
        self.rounds = RoundSender(
            publisher=publisher,
            book=self.book,
            clock=clock,
            metrics=self.metrics,
            events=self.events,
            ack_timeout_s=ack_timeout_s,
        )
        self._journal: DispatchJournal = NopJournal()
        self._ack_journal: DispatchJournal | None = None
        self.journal = journal if journal is not None else NopJournal()
        self._results: OrderedDict[str, DispatchResult] = OrderedDict()
        self._results_kept = results_kept
        self._in_flight: dict[str, asyncio.Future[DispatchResult]] = {}
        self._in_flight_by_site: Counter[str] = Counter()
        self._site_locks: dict[str, asyncio.Lock] = {}

    # -- public API --------------------------------------------------------------------------

    @property
    def journal(self) -> DispatchJournal:
        """Where dispatches are written down (:class:`~dispatch.ports.NopJournal`: nowhere)."""
        return self._journal

    @journal.setter
    def journal(self, journal: DispatchJournal) -> None:
        # set before the first dispatch (a service opens its database after building us)
        self._journal = journal
        self.rounds.journal = journal
        # the ack path skips the clock read and the call when nothing is journaled
        self._ack_journal = None if isinstance(journal, NopJournal) else journal

    def result(self, signal_id: str) -> DispatchResult | None:
        """The stored result of a finished dispatch, if still kept."""
        return self._results.get(signal_id)

    def remember(self, result: DispatchResult) -> None:
        """Keep ``result`` as the answer for its signal id (also used to restore state)."""
        self._results[result.signal_id] = result
        self._results.move_to_end(result.signal_id)
        while len(self._results) > self._results_kept:
            self._results.popitem(last=False)

    @property
    def in_flight(self) -> int:
        """Dispatches currently running."""
        return len(self._in_flight)

    async def dispatch(self, signal: FlexibilitySignal) -> DispatchResult:
        """Dispatch ``signal`` once; a repeated ``signal_id`` gets the same result."""
        known = self._results.get(signal.signal_id)
        if known is not None:
            self.metrics.inc(m.SIGNALS_REPEATED, site=signal.site_id)
            log.info("signal_repeated", signal_id=signal.signal_id, site_id=signal.site_id)
            return known
        running = self._in_flight.get(signal.signal_id)
        if running is not None:
            self.metrics.inc(m.SIGNALS_REPEATED, site=signal.site_id)
            return await asyncio.shield(running)
        future: asyncio.Future[DispatchResult] = asyncio.get_running_loop().create_future()
        self._in_flight[signal.signal_id] = future
        self._in_flight_by_site[signal.site_id] += 1
        self._gauge_in_flight(signal.site_id)
        try:
            with structlog.contextvars.bound_contextvars(
                signal_id=signal.signal_id, site_id=signal.site_id
            ):
                result = await self._started(signal)
                if result is None:
                    result = await self._run(signal)
                    await self._journal_result(result)
            self.remember(result)
            future.set_result(result)
            return result
        except BaseException as exc:
            self.ledger.drop(signal.site_id, signal.signal_id)
            log.exception("dispatch_failed", signal_id=signal.signal_id, site_id=signal.site_id)
            future.set_exception(exc)
            future.exception()  # retrieved: joiners re-raise it, nobody leaks a warning
            raise
        finally:
            del self._in_flight[signal.signal_id]
            self._in_flight_by_site[signal.site_id] -= 1
            self._gauge_in_flight(signal.site_id)

    def handle_ack(self, ack: Ack) -> AckVerdict:
        """Take one acknowledgement from the transport (never raises on a bad ack)."""
        loop_now = asyncio.get_running_loop().time()
        verdict, rnd, row = self.book.handle(ack, loop_now)
        order = rnd.orders[row] if rnd is not None else None
        journal = self._ack_journal
        if journal is not None:
            journal.ack_received(ack, verdict, order, self.clock.now())
        if verdict is not AckVerdict.MATCHED:  # matched: counted when the round closes
            report_ack_not_counted(ack, verdict, order, self.metrics, self.events)
        return verdict

    # -- one dispatch ------------------------------------------------------------------------

    async def _started(self, signal: FlexibilitySignal) -> DispatchResult | None:
        """Journal the signal: None to go on, else the stored or the failed result."""
        t0 = asyncio.get_running_loop().time()
        started_at = self.clock.now()
        try:
            stored = await self.journal.dispatch_started(
                signal,
                dispatcher=self.dispatcher.name,
                fallback=self.fallback.name,
                ack_timeout_s=self.ack_timeout_s,
                at=started_at,
            )
        except Exception as exc:
            log.error("journal_signal_failed", error=str(exc))
            state = DispatchState(signal, Candidates.build(signal, ()))
            return self._finish(state, started_at, t0, {}, reason=f"journal unavailable: {exc}")
        if stored is not None:
            self.metrics.inc(m.SIGNALS_REPEATED, site=signal.site_id)
            log.info("signal_repeated", source="journal")
        return stored

    async def _journal_result(self, result: DispatchResult) -> None:
        """Write the result down; a failure is logged (the in-flight row stays for recovery)."""
        try:
            await self.journal.dispatch_finished(result)
        except Exception as exc:
            log.error("journal_result_failed", error=str(exc))

    def _gauge_in_flight(self, site_id: str) -> None:
        self.metrics.set(m.DISPATCHES_IN_FLIGHT, self._in_flight_by_site[site_id], site=site_id)

    def _lock(self, site_id: str) -> asyncio.Lock:
        return self._site_locks.setdefault(site_id, asyncio.Lock())

    async def _run(self, signal: FlexibilitySignal) -> DispatchResult:
        loop = asyncio.get_running_loop()
        started_at = self.clock.now()
        t0 = loop.time()
        self.ledger.prune(started_at)
        self.events.publish(DispatchStarted(signal.signal_id, signal.site_id, signal))
        if signal.end <= started_at:
            state = DispatchState(signal, Candidates.build(signal, ()))
            return self._finish(state, started_at, t0, {}, reason="signal period already ended")

        async with self._lock(signal.site_id):
            vehicles = await self.fleet.vehicles(signal.site_id)
            selection = self.filter.select(signal, vehicles, self.ledger)
            for why, count in selection.excluded.items():
                self.metrics.inc(m.VEHICLES_EXCLUDED, count, site=signal.site_id, reason=why)
            candidates = Candidates.build(
                signal,
                selection.eligible,
                self.participation,
                arrays=selection.arrays,
                capacity_kw=selection.capacity_kw,
            )
            state = DispatchState(signal, candidates)
            if not len(candidates):
                return self._finish(
                    state, started_at, t0, selection.excluded, reason="no eligible vehicle"
                )
            alloc_t0 = loop.time()
            allocation = await asyncio.to_thread(self.dispatcher.allocate, signal, candidates)
            self.metrics.observe(
                m.DISPATCH_ALLOCATION, loop.time() - alloc_t0, dispatcher=self.dispatcher.name
            )
            if allocation.degraded:
                log.warning("allocation_degraded", why=allocation.degraded)
            amounts = clamp_amounts(
                allocation.power_kw,
                candidates.capacity_kw,
                signal.power_kw,
                self.min_order_kw,
                strategy=self.dispatcher.name,
                signal_id=signal.signal_id,
            )
            self._book(signal, candidates, amounts)

        journal_failure = await self._send_rounds(state, amounts)

        delivered = state.acknowledged_kw > 0
        ids = np.array(candidates.ids, dtype=object)
        self.ledger.release(signal.site_id, ids[~delivered], signal.signal_id)
        self.participation.record(signal.site_id, ids[delivered], signal.start)
        self._tune(state)
        if journal_failure is not None and state.rounds == 0:  # nothing left: failed, and why
            return self._finish(state, started_at, t0, selection.excluded, reason=journal_failure)
        return self._finish(state, started_at, t0, selection.excluded, note=journal_failure)

    async def _send_rounds(self, state: DispatchState, amounts: FloatArray) -> str | None:
        """Round 0, then fallback rounds while power is missing; why it stopped early, if so."""
        try:
            await self.rounds.send(state, amounts, 0)
            for number in range(1, self.max_fallback_rounds + 1):
                if state.residual_kw <= tolerance_kw(state.signal.power_kw):
                    break
                extra = self._fallback_orders(state, number)
                if not extra.any():
                    break
                await self.rounds.send(state, extra, number)
        except JournalError as exc:
            return str(exc)
        return None

    def _book(self, signal: FlexibilitySignal, candidates: Candidates, amounts: FloatArray) -> None:
        ids = [candidates.ids[i] for i in np.flatnonzero(amounts)]
        self.ledger.reserve(signal.site_id, ids, signal.signal_id, signal.start, signal.end)

    def _fallback_orders(self, state: DispatchState, number: int) -> FloatArray:
        """Ask the fallback, then clamp its answer to what each vehicle may still take."""
        signal, candidates = state.signal, state.candidates
        taken = self.ledger.busy(
            signal.site_id, signal.start, signal.end, ignore_signal=signal.signal_id
        )
        free = np.fromiter((vid not in taken for vid in candidates.ids), bool, len(candidates))
        residual = state.residual_kw
        ctx = FallbackContext(
            signal=signal,
            candidates=candidates,
            residual_kw=residual,
            ordered_kw=state.ordered_kw.copy(),
            acknowledged_kw=state.acknowledged_kw.copy(),
            may_receive=free & ~state.failed,
            responded=state.responded,
            round=number,
        )
        overallocation = float(getattr(self.fallback, "max_overallocation", 0.0))
        extra = clamp_amounts(
            self.fallback.reallocate(ctx),
            ctx.remaining_kw,
            residual * (1.0 + overallocation),
            self.min_order_kw,
            strategy=self.fallback.name,
            signal_id=signal.signal_id,
        )
        if extra.any():
            self._book(signal, candidates, extra)
            self.metrics.inc(m.FALLBACK_ROUNDS, site=signal.site_id, fallback=self.fallback.name)
            self.events.publish(
                FallbackApplied(
                    signal.signal_id,
                    signal.site_id,
                    self.fallback.name,
                    number,
                    residual,
                    float(extra.sum()),
                    int(np.count_nonzero(extra)),
                )
            )
        return extra

    def _tune(self, state: DispatchState) -> None:
        weights = getattr(self.dispatcher, "weights", None)
        if self.tuner is None or not isinstance(weights, WeightTable):
            return
        ordered = state.ordered_kw > 0
        if not ordered.any():
            return
        success = state.acknowledged_kw[ordered] / state.ordered_kw[ordered]
        step = self.tuner.tune(
            weights, state.signal.type, state.candidates.features[ordered], success
        )
        if step is not None:
            self.metrics.inc(m.TUNER_ADJUSTMENTS, signal_type=state.signal.type)
            log.info("weights_tuned", signal_type=step.signal_type, change=step.explain())

    def _finish(
        self,
        state: DispatchState,
        started_at: datetime,
        t0: float,
        excluded: dict[str, int],
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> DispatchResult:
        """The result (``reason``: failed for that reason; ``note``: added to the reason)."""
        result = state.result(
            dispatcher=self.dispatcher.name,
            fallback=self.fallback.name,
            started_at=started_at,
            finished_at=self.clock.now(),
            excluded=excluded,
        )
        if reason is not None:
            result = replace(result, status=DispatchStatus.FAILED, reason=reason)
        elif note is not None:
            result = replace(result, reason=f"{result.reason}; {note}" if result.reason else note)
        elapsed = asyncio.get_running_loop().time() - t0
        report_result(result, elapsed, self.metrics, self.events)
        return result
