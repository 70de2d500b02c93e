"""What a planning run needs from its caller: where solves run, and where progress goes.

:class:`Offload` is structurally the same port as ``v2g.jobs.Offload`` (the service passes its
process pool); :func:`inline_offload` is the trivial one of the CLI and the tests. Everything a
run hands to it is picklable: module-level functions and pydantic models or frozen dataclasses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from allocation import Trigger
from v2g.planning.outcome import PlanOutcome

T = TypeVar("T")


class Offload(Protocol):
    """Runs ``fn(*args, **kwargs)`` somewhere and returns (or raises) what it did."""

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """The result of ``fn(*args, **kwargs)``."""
        ...


async def inline_offload(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the solve right here, on the event loop's thread (CLI, tests)."""
    return fn(*args, **kwargs)


Progress = Callable[[str], None]
"""Told one line per phase of a run (the CLI prints it with the elapsed time)."""

PlanFn = Callable[[str, Trigger, Offload], Awaitable[PlanOutcome]]
"""What the service's planning job calls: ``await plan(site_id, trigger, offload)``."""


def no_progress(_: str) -> None:
    """Progress nobody watches."""
