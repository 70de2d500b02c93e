"""Where a planning run's CPU-heavy solves run: the :class:`Offload` port and its adapters.

A run calls ``await offload(allocate, day, trigger=trigger, previous=previous)`` for each solve:

- :class:`ProcessOffload` (``v2g serve``): a process pool started with ``spawn`` (forking a
  process that runs an event loop and threads is unsafe). The solve runs under another
  interpreter's GIL, so the loop keeps serving MQTT acks. Arguments, results and the function
  cross by pickle: pydantic models and module-level functions do.
- :class:`ThreadOffload`: ``asyncio.to_thread``; only off-loop while the solver releases the GIL.
- :class:`InlineOffload`: runs the call right there and blocks the loop (CLI, tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from v2g.jobs.process import ProcessOffload

__all__ = ["InlineOffload", "Offload", "ProcessOffload", "ThreadOffload"]

T = TypeVar("T")


class Offload(Protocol):
    """Runs ``fn(*args, **kwargs)`` somewhere and returns (or raises) what it did."""

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """The result of ``fn(*args, **kwargs)``."""
        ...


class InlineOffload:
    """Calls the function in the caller: simple, and the loop waits for it."""

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """The result of ``fn(*args, **kwargs)``, computed on the event loop's thread."""
        return fn(*args, **kwargs)


class ThreadOffload:
    """Calls the function in the default thread pool (``asyncio.to_thread``)."""

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """The result of ``fn(*args, **kwargs)``, computed in a worker thread."""
        return await asyncio.to_thread(fn, *args, **kwargs)
