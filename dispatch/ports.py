"""The ports the dispatch manager talks to the outside through. Adapters live in ``v2g/``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from dispatch.models import Order


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
