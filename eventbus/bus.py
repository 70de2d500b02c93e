"""A typed event bus: subscribers register for an event class and its subclasses.

Publishing never waits for subscribers and never fails because of them: synchronous handlers
run inline inside a guard, coroutine handlers run as tracked tasks. A handler that raises is
logged with the event type and counted in :attr:`EventBus.failures`; the publisher carries on.
``await bus.drain()`` waits for the handler tasks in flight (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)

E = TypeVar("E")
Handler = Callable[[E], Awaitable[None] | None]


class EventBus:
    """Publish/subscribe keyed by event type (instances of a class and its subclasses)."""

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Handler[Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Call ``handler`` for every published ``event_type``; returns an unsubscribe function."""
        handlers = self._handlers.setdefault(event_type, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def publish(self, event: object) -> None:
        """Deliver ``event`` to its subscribers without waiting for them."""
        for klass in type(event).__mro__:
            for handler in tuple(self._handlers.get(klass, ())):
                self._deliver(handler, event)

    def _deliver(self, handler: Handler[Any], event: object) -> None:
        try:
            outcome = handler(event)
        except Exception:
            self._failed(handler, event)
            return
        if inspect.isawaitable(outcome):
            task = asyncio.ensure_future(self._guard(outcome, handler, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _guard(self, outcome: Awaitable[None], handler: Handler[Any], event: object) -> None:
        try:
            await outcome
        except Exception:
            self._failed(handler, event)

    def _failed(self, handler: Handler[Any], event: object) -> None:
        self.failures += 1
        log.exception(
            "event_handler_failed",
            event_type=type(event).__name__,
            handler=getattr(handler, "__qualname__", repr(handler)),
        )

    async def drain(self) -> None:
        """Wait until every handler task started so far has finished."""
        while self._tasks:
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)
