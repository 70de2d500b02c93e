"""One dispatch found in flight after a restart: its orders, their answers, its result.

Pure bookkeeping (no I/O, no clock), replayed from the journal and fed the acks that come
after the restart. The rules are the manager's (:mod:`dispatch.acks`, :mod:`dispatch.state`):

- the first answer from the order's vehicle counts; another is a ``duplicate``, one from
  another vehicle ``wrong_vehicle``; neither is credited;
- acks journaled before the crash keep their verdicts (``matched`` ones are credited);
- orders of the last journaled round that were not answered are still open: the service was
  down, not the vehicles, and the broker kept their acks. Orders of earlier rounds were
  closed by the round that followed them: an answer to one is ``late``;
- :meth:`RecoveringDispatch.result` applies the usual outcome and status rules; the reason
  says the dispatch was completed from the journal after a restart.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from dispatch.acks import AckVerdict, Answer
from dispatch.models import (
    Ack,
    AckStatus,
    DispatchResult,
    DispatchStatus,
    Order,
    Outcome,
    VehicleOutcome,
)
from dispatch.state import tolerance_kw
from v2g.storage.journal_records import InFlightDispatch

RECOVERED = "completed from the journal after a restart"
UNRECOVERABLE = "no order was journaled: the dispatch could not be recovered after a restart"

_OUTCOME = {Answer.REJECTED: Outcome.REJECTED, Answer.TIMEOUT: Outcome.TIMEOUT}


class RecoveringDispatch:
    """The orders of one in-flight dispatch and the answers credited to them."""

    def __init__(self, found: InFlightDispatch) -> None:
        self.found = found
        self.signal = found.signal
        self.orders = {o.order_id: o for o in found.orders}
        self.last_round = max((o.round for o in found.orders), default=-1)
        self.answer: dict[str, Answer] = {}
        self.accepted_kw: dict[str, float] = {}
        self.late_seen: set[str] = set()
        self.duplicates = 0
        self.late = 0
        self.closed = False
        self._open = {oid for oid, o in self.orders.items() if o.round == self.last_round}
        for journaled in found.acks:
            self._replay(journaled.ack, journaled.verdict)

    @property
    def outstanding(self) -> int:
        """Open orders (of the last round, not closed) still without an answer."""
        return len(self._open)

    def handle(self, ack: Ack) -> AckVerdict:
        """Classify an ack arriving after the restart; credit it if it is the first answer."""
        order = self.orders.get(ack.order_id)
        if order is None:
            return AckVerdict.UNKNOWN
        if order.vehicle_id != ack.vehicle_id:
            return AckVerdict.WRONG_VEHICLE
        answer = self.answer.get(ack.order_id)
        if answer is None and ack.order_id in self._open:
            self._credit(order, ack)
            return AckVerdict.MATCHED
        if answer in {None, Answer.TIMEOUT} and ack.order_id not in self.late_seen:
            self.answer[ack.order_id] = Answer.TIMEOUT
            self.late_seen.add(ack.order_id)
            self.late += 1
            return AckVerdict.LATE
        self.duplicates += 1
        return AckVerdict.DUPLICATE

    def close(self) -> None:
        """No more answers are credited: orders without one timed out."""
        self.closed = True
        self._open.clear()
        for oid in self.orders:
            self.answer.setdefault(oid, Answer.TIMEOUT)

    def delivered(self) -> set[str]:
        """Vehicles with acknowledged power."""
        return {self.orders[oid].vehicle_id for oid, kw in self.accepted_kw.items() if kw > 0}

    def result(self, finished_at: datetime) -> DispatchResult:
        """The dispatch's result by the manager's rules, marked as recovered."""
        self.close()
        signal, tol = self.signal, tolerance_kw(self.signal.power_kw)
        outcomes = self._outcomes(tol)
        acknowledged = sum(self.accepted_kw.values())
        if acknowledged >= signal.power_kw - tol:
            status, detail = DispatchStatus.FULFILLED, None
        elif acknowledged > tol:
            status, detail = DispatchStatus.PARTIAL, None
        else:
            status, detail = DispatchStatus.FAILED, "no vehicle acknowledged"
        counts = Counter(o.outcome for o in outcomes)
        if status is not DispatchStatus.FULFILLED and counts:
            listed = ", ".join(f"{k.value} {v}" for k, v in sorted(counts.items()))
            detail = f"{detail}: {listed}" if detail else listed
        round0 = sum(o.power_kw for o in self.orders.values() if o.round == 0)
        return DispatchResult(
            signal_id=signal.signal_id,
            site_id=signal.site_id,
            status=status,
            requested_kw=signal.power_kw,
            allocated_kw=round0,
            reallocated_kw=sum(o.power_kw for o in self.orders.values()) - round0,
            acknowledged_kw=acknowledged,
            dispatcher=self.found.dispatcher,
            fallback=self.found.fallback,
            rounds=len({o.round for o in self.orders.values()}),
            started_at=self.found.received_at,
            finished_at=finished_at,
            vehicles=tuple(outcomes),
            eligible_vehicles=len(outcomes),  # the candidates are not journaled: those ordered
            late_acks=self.late,
            duplicate_acks=self.duplicates,
            reason=f"{RECOVERED}; {detail}" if detail else RECOVERED,
        )

    def unrecoverable(self, finished_at: datetime) -> DispatchResult:
        """The failed result of a dispatch whose orders the journal does not have."""
        signal = self.signal
        return DispatchResult(
            signal_id=signal.signal_id,
            site_id=signal.site_id,
            status=DispatchStatus.FAILED,
            requested_kw=signal.power_kw,
            allocated_kw=0.0,
            acknowledged_kw=0.0,
            dispatcher=self.found.dispatcher,
            fallback=self.found.fallback,
            rounds=0,
            started_at=self.found.received_at,
            finished_at=finished_at,
            reason=UNRECOVERABLE,
        )

    # -- internals ---------------------------------------------------------------------------

    def _replay(self, ack: Ack, verdict: AckVerdict) -> None:
        order = self.orders.get(ack.order_id)
        if order is None:
            return
        if verdict is AckVerdict.MATCHED and ack.order_id not in self.answer:  # first counts
            self._credit(order, ack)
        elif verdict is AckVerdict.LATE:
            self._open.discard(ack.order_id)
            self.answer[ack.order_id] = Answer.TIMEOUT
            self.late_seen.add(ack.order_id)
            self.late += 1
        elif verdict is AckVerdict.DUPLICATE:
            self.duplicates += 1

    def _credit(self, order: Order, ack: Ack) -> None:
        self._open.discard(order.order_id)
        if ack.status is AckStatus.ACCEPTED and ack.accepted_kw > 0:
            accepted = min(ack.accepted_kw, order.power_kw)
            full = accepted >= order.power_kw * (1 - 1e-6) - 1e-9
            self.accepted_kw[order.order_id] = accepted
            self.answer[order.order_id] = Answer.ACCEPTED if full else Answer.PARTIAL
        else:
            self.answer[order.order_id] = Answer.REJECTED

    def _outcomes(self, tol: float) -> list[VehicleOutcome]:
        ordered: dict[str, float] = {}
        got: dict[str, float] = {}
        count: Counter[str] = Counter()
        failure: dict[str, Answer] = {}
        for oid, order in self.orders.items():  # journaled by round: the last failure wins
            vid = order.vehicle_id
            ordered[vid] = ordered.get(vid, 0.0) + order.power_kw
            got[vid] = got.get(vid, 0.0) + self.accepted_kw.get(oid, 0.0)
            count[vid] += 1
            answer = self.answer.get(oid, Answer.TIMEOUT)
            if answer is not Answer.ACCEPTED:
                failure[vid] = answer
        outcomes = []
        for vid, kw in ordered.items():
            if got[vid] > 0 and got[vid] >= kw - tol:
                outcome = Outcome.ACCEPTED
            elif got[vid] > 0:
                outcome = Outcome.PARTIAL
            else:
                outcome = _OUTCOME.get(failure.get(vid, Answer.REJECTED), Outcome.REJECTED)
            outcomes.append(VehicleOutcome(vid, kw, got[vid], outcome, count[vid]))
        return outcomes
