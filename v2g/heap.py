"""The garbage collector of a process holding a large, long-lived fleet.

A service (or a simulated fleet) of 10k vehicles keeps hundreds of thousands of objects alive
for its whole life: vehicles, order books, payload models. CPython's collector traverses all
of them on every full collection, and with its default thresholds (700, 10, 10) a single 10k
dispatch triggers 5 to 8 full collections: about 0.6 s of the service's CPU and 1.8 s of a
simulated fleet's (``benchmarks/dispatch_mqtt.py``; see docs/benchmarks.md).

:func:`settle_heap` does what long-running Python services do about it once their start-up
heap is built:

- ``gc.freeze()``: what exists now moves to the permanent generation, which no collection
  traverses again;
- a first-generation threshold of 10,000 instead of 700: the many short-lived objects of a
  round of orders and acks (messages, payloads, receipts) are mostly freed by reference
  counting before any collection, and full collections become about 14 times rarer. Cyclic
  garbage waits a little longer for its collection; memory stays bounded.

It returns a function that undoes both. Holders nest (a service and a simulated fleet in one
process, as in the demo): the heap is unfrozen and the thresholds restored when the last
holder releases.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

THRESHOLDS = (10_000, 10, 10)


class _Holders:
    """How many hold the heap settled, and the thresholds to restore after the last."""

    count = 0
    previous: tuple[int, int, int] | None = None


def settle_heap() -> Callable[[], None]:
    """Freeze the heap built so far and raise the collector's thresholds; return the undo."""
    if _Holders.count == 0:
        _Holders.previous = gc.get_threshold()
        gc.set_threshold(*THRESHOLDS)
    _Holders.count += 1
    gc.collect()
    gc.freeze()
    released = False

    def release() -> None:
        nonlocal released
        if released:
            return
        released = True
        _Holders.count -= 1
        if _Holders.count == 0:
            gc.unfreeze()
            if _Holders.previous is not None:
                gc.set_threshold(*_Holders.previous)
            _Holders.previous = None

    return release
