"""The ports the dispatch manager talks to the outside through. Adapters live in ``v2g/``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from dispatch.acks import AckVerdict
from dispatch.errors import DispatchError
from dispatch.models import Ack, DispatchResult, FlexibilitySignal, Order


class Publisher(Protocol):
    """Hands orders to vehicles. Acks come back through ``DispatchManager.handle_ack``."""

    async def publish(self, orders: Sequence[Order]) -> Sequence[str]:
        """Publish every order concurrently; return the ids of orders that could NOT be sent.

        Raises :class:`~dispatch.errors.PublishError` when nothing at all could be sent.
        """
        ...


class Clock(Protocol):
    """Wall-clock time, injected so the domain never reads the system clock itself."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class DispatchJournal(Protocol):
    """Where a dispatch is written down as it happens, so a restart can finish it.

    The manager calls, in this order: :meth:`dispatch_started` once, :meth:`orders_sent`
    before each round's orders are published (if it raises, that round is not published),
    :meth:`ack_received` for every ack (synchronous: the adapter buffers), and
    :meth:`dispatch_finished` with the result. Errors of the async methods propagate.
    """

    async def dispatch_started(
        self,
        signal: FlexibilitySignal,
        *,
        dispatcher: str,
        fallback: str,
        ack_timeout_s: float,
        at: datetime,
    ) -> DispatchResult | None:
        """Write the signal down; return its stored result if this id was journaled before."""
        ...

    async def orders_sent(self, orders: Sequence[Order], at: datetime) -> None:
        """Write a round's orders down; called before they are published."""
        ...

    def ack_received(
        self, ack: Ack, verdict: AckVerdict, order: Order | None, at: datetime
    ) -> None:
        """Note an ack and how it was classified (never blocks, never raises)."""
        ...

    async def dispatch_finished(self, result: DispatchResult) -> None:
        """Write the result down (after every ack noted for the dispatch so far)."""
        ...


class NopJournal:
    """A journal that writes nothing: in-process use, benchmarks and tests."""

    async def dispatch_started(
        self,
        signal: FlexibilitySignal,
        *,
        dispatcher: str,
        fallback: str,
        ack_timeout_s: float,
        at: datetime,
    ) -> DispatchResult | None:
        """Nothing was journaled before."""
        return None

    async def orders_sent(self, orders: Sequence[Order], at: datetime) -> None:
        """Nothing to write."""

    def ack_received(
        self, ack: Ack, verdict: AckVerdict, order: Order | None, at: datetime
    ) -> None:
        """Nothing to note."""

    async def dispatch_finished(self, result: DispatchResult) -> None:
        """Nothing to write."""


class JournalError(DispatchError):
    """The journal could not write what must be written before orders leave.

    (Part of the :mod:`dispatch.errors` tree; declared next to its port.)
    """
