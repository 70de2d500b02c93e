"""The running totals of one dispatch, per candidate, and the result built from them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from dispatch.acks import Answer, Round
from dispatch.candidates import Candidates
from dispatch.models import (
    DispatchResult,
    DispatchStatus,
    FlexibilitySignal,
    Outcome,
    VehicleOutcome,
)

_OUTCOME_OF_ANSWER = {
    Answer.REJECTED: Outcome.REJECTED,
    Answer.TIMEOUT: Outcome.TIMEOUT,
    Answer.UNSENT: Outcome.UNSENT,
}


def tolerance_kw(requested_kw: float) -> float:
    """Power difference below which two amounts count as equal (1 W, or 1 ppm of the signal)."""
    return max(1e-3, 1e-6 * requested_kw)


class DispatchState:
    """Ordered and acknowledged kW per candidate, and the worst answer each has given."""

    def __init__(self, signal: FlexibilitySignal, candidates: Candidates) -> None:
        n = len(candidates)
        self.signal = signal
        self.candidates = candidates
        self.ordered_kw = np.zeros(n)
        self.acknowledged_kw = np.zeros(n)
        self.orders = np.zeros(n, dtype=np.int32)
        self.failed = np.zeros(n, dtype=bool)  # refused, timed out, partial or unsent
        self.last_failure = np.zeros(n, dtype=np.int8)
        self.rounds = 0
        self.initial_kw = 0.0
        self.followup_kw = 0.0
        self.round_log: list[Round] = []

    @property
    def acknowledged_total(self) -> float:
        """kW acknowledged so far."""
        return float(self.acknowledged_kw.sum())

    @property
    def residual_kw(self) -> float:
        """kW still missing to meet the signal (0 when met or exceeded)."""
        return max(0.0, self.signal.power_kw - self.acknowledged_total)

    @property
    def responded(self) -> NDArray[np.bool_]:
        """Acknowledged everything ordered so far, and something was ordered."""
        return (self.acknowledged_kw > 0) & ~self.failed

    def apply_round(
        self,
        number: int,
        amounts: NDArray[np.float64],
        accepted: NDArray[np.float64],
        answers: NDArray[np.int8],
    ) -> None:
        """Fold closed round ``number`` (0 = the dispatcher's) into the totals."""
        sent = amounts > 0
        self.rounds += 1
        self.orders += sent
        ordered = np.where(answers == Answer.UNSENT, 0.0, amounts)
        self.ordered_kw += ordered
        if number == 0:
            self.initial_kw += float(ordered.sum())
        else:
            self.followup_kw += float(ordered.sum())
        self.acknowledged_kw += accepted
        bad = sent & (answers != Answer.ACCEPTED)
        self.failed |= bad
        self.last_failure = np.where(bad, answers, self.last_failure).astype(np.int8)

    def result(
        self,
        *,
        dispatcher: str,
        fallback: str,
        started_at: datetime,
        finished_at: datetime,
        excluded: dict[str, int],
    ) -> DispatchResult:
        """The final :class:`DispatchResult`."""
        tol = tolerance_kw(self.signal.power_kw)
        ack = self.acknowledged_total
        outcomes = []
        for i in np.flatnonzero(self.orders):
            ordered, got = float(self.ordered_kw[i]), float(self.acknowledged_kw[i])
            if got > 0 and got >= ordered - tol:
                outcome = Outcome.ACCEPTED
            elif got > 0:
                outcome = Outcome.PARTIAL
            else:
                outcome = _OUTCOME_OF_ANSWER.get(Answer(self.last_failure[i]), Outcome.REJECTED)
            outcomes.append(
                VehicleOutcome(
                    self.candidates.vehicles[i].vehicle_id,
                    ordered,
                    got,
                    outcome,
                    int(self.orders[i]),
                )
            )
        if ack >= self.signal.power_kw - tol:
            status, reason = DispatchStatus.FULFILLED, None
        elif ack > tol:
            status, reason = DispatchStatus.PARTIAL, None
        else:
            status = DispatchStatus.FAILED
            reason = "no vehicle acknowledged" if outcomes else "no power could be allocated"
        counts = Counter(o.outcome for o in outcomes)
        if status is not DispatchStatus.FULFILLED and counts:
            detail = ", ".join(f"{k.value} {v}" for k, v in sorted(counts.items()))
            reason = f"{reason}: {detail}" if reason else detail
        return DispatchResult(
            signal_id=self.signal.signal_id,
            site_id=self.signal.site_id,
            status=status,
            requested_kw=self.signal.power_kw,
            allocated_kw=self.initial_kw,
            reallocated_kw=self.followup_kw,
            acknowledged_kw=ack,
            dispatcher=dispatcher,
            fallback=fallback,
            rounds=self.rounds,
            started_at=started_at,
            finished_at=finished_at,
            vehicles=tuple(outcomes),
            eligible_vehicles=len(self.candidates),
            excluded=excluded,
            late_acks=sum(r.late for r in self.round_log),
            duplicate_acks=sum(r.duplicates for r in self.round_log),
            reason=reason,
        )
