"""One site's pending triggers, coalesced into at most one next planning run.

Triggers that arrive while a run is going, or within a short burst, collapse into one
:class:`Pending` run whose trigger is the strongest seen (:data:`STRENGTH`): ``initial``
(the first run after start-up, until it succeeds) over ``cancellation`` over
``vehicle_unavailable`` over ``new_route`` over ``rolling``. The details of every trigger
are kept for the log.

Debounce: :meth:`TriggerQueue.wait` returns once no trigger has come for ``settle_s`` (a
burst of vehicles going offline makes one run), but never later than ``max_settle_s`` after
the first trigger of the batch (a steady stream of triggers still gets runs).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from allocation import Trigger

STRENGTH: dict[Trigger, int] = {
    Trigger.ROLLING: 0,
    Trigger.NEW_ROUTE: 1,
    Trigger.VEHICLE_UNAVAILABLE: 2,
    Trigger.CANCELLATION: 3,
    Trigger.INITIAL: 4,
}


def strongest(a: Trigger, b: Trigger) -> Trigger:
    """The trigger that decides a run asked for by both (``a`` on a tie)."""
    return b if STRENGTH[b] > STRENGTH[a] else a


@dataclass(frozen=True)
class Pending:
    """A run asked for by ``count`` triggers; ``details`` says what happened, in order."""

    trigger: Trigger
    details: tuple[str, ...] = ()
    count: int = 1

    def merge(self, other: Pending) -> Pending:
        """One run standing for both."""
        return Pending(
            strongest(self.trigger, other.trigger),
            self.details + other.details,
            self.count + other.count,
        )


class TriggerQueue:
    """Collects a site's triggers; the site's job takes them one coalesced batch at a time."""

    def __init__(
        self,
        *,
        settle_s: float = 2.0,
        max_settle_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if settle_s < 0 or max_settle_s < settle_s:
            raise ValueError("need 0 <= settle_s <= max_settle_s")
        self.settle_s = settle_s
        self.max_settle_s = max_settle_s
        self._now = monotonic
        self._pending: Pending | None = None
        self._first_at = 0.0
        self._last_at = 0.0
        self._arrived = asyncio.Event()

    @property
    def pending(self) -> Pending | None:
        """What the next run would be asked for, if anything."""
        return self._pending

    def put(self, trigger: Trigger, detail: str | None = None) -> None:
        """Ask for a run because of ``trigger``."""
        self.add(Pending(trigger, (detail,) if detail else ()))

    def add(self, pending: Pending) -> None:
        """Merge an already built batch (e.g. a failed run's, to retry it)."""
        now = self._now()
        if self._pending is None:
            self._pending = pending
            self._first_at = now
        else:
            self._pending = self._pending.merge(pending)
        self._last_at = now
        self._arrived.set()

    def take(self) -> Pending | None:
        """Remove and return the pending batch."""
        pending, self._pending = self._pending, None
        self._arrived.clear()
        return pending

    async def wait(self, timeout_s: float | None = None) -> Pending | None:
        """The next batch once it settled; None if nothing came within ``timeout_s``."""
        if self._pending is None:
            try:
                async with asyncio.timeout(timeout_s):
                    await self._arrived.wait()
            except TimeoutError:
                if self._pending is None:
                    return None
        while True:  # a timed wait: triggers coming meanwhile push the end back
            left_s = self._settled_at() - self._now()
            if left_s <= 0:
                return self.take()
            await asyncio.sleep(left_s)

    def _settled_at(self) -> float:
        return min(self._last_at + self.settle_s, self._first_at + self.max_settle_s)
