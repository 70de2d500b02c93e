"""Where a price series leaves a window uncovered, and the check planning runs with it.

A price point holds until the next one, the last one for an hour (the scheduler's rule). A
gap between two points up to ``max_gap`` is covered by the earlier point (the real 2024 Dutch
series lacks one hour: its neighbours are two hours apart); a longer gap, no point at the
window's start, or no point reaching its end, is missing data. A gap is reported from one
regular step (the series' median spacing) after the point before it: the hours really absent.
:func:`require_prices` applies the rule to a schedule problem's window as the scheduler will
adapt it, and raises :class:`MissingDataError` naming the first missing span.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from scheduling import PricePoint, ScheduleProblem
from scheduling.models import SLOT_MINUTES
from scheduling.requirements import checkpoints
from scheduling.window import adapt_window
from v2g.planning.errors import MissingDataError, iso

LAST_POINT_HOLDS = timedelta(hours=1)
SLOT = timedelta(minutes=SLOT_MINUTES)


def uncovered(
    points: Sequence[PricePoint], start: datetime, end: datetime, *, max_gap: timedelta
) -> list[tuple[datetime, datetime]]:
    """The spans of ``[start, end)`` no price covers, in time order (empty when covered)."""
    starts = sorted(p.start for p in points)
    out: list[tuple[datetime, datetime]] = []
    before = [s for s in starts if s <= start]
    if not before:
        first = next((s for s in starts if s < end), end)
        out.append((start, first))
    steps = [b - a for a, b in itertools.pairwise(starts)]
    step = statistics.median_low(steps) if steps else LAST_POINT_HOLDS
    for a, b in itertools.pairwise(starts):
        if b - a > max_gap and b > start and a + max_gap < end:
            out.append((max(a + min(step, max_gap), start), min(b, end)))
    if starts and starts[-1] + LAST_POINT_HOLDS < end:
        out.append((max(starts[-1] + LAST_POINT_HOLDS, start), end))
    return out


def placeholder_prices(start: datetime) -> tuple[PricePoint, ...]:
    """A problem needs one price to validate; :func:`require_prices` then reports the gap."""
    return (PricePoint(start=start + timedelta(days=1), price_eur_per_kwh=0.0),)


def require_prices(
    problem: ScheduleProblem, prices: list[PricePoint], *, max_gap: timedelta
) -> None:
    """:class:`MissingDataError` when prices leave part of the (adapted) window uncovered."""
    n_slots, _ = adapt_window(
        problem.window_start,
        problem.planning_window_h,
        checkpoints(problem),
        enabled=problem.adapt_window,
    )
    end = problem.window_start + n_slots * SLOT
    gaps = uncovered(prices, problem.window_start, end, max_gap=max_gap)
    if gaps:
        first, last = gaps[0]
        raise MissingDataError(
            "no prices",
            site_id=problem.site_id,
            start=first,
            end=last,
            hint=f"schedule window {iso(problem.window_start)} to {iso(end)}; "
            "load them with `v2g db seed`",
        )
