"""Dynamic window adaptation.

Rule: the window starts at ``window_start`` and lasts ``planning_window_h`` (4 to 24 h). When a
departure whose checkpoint needs energy (``required_kwh > 0``) lies past the window's end, the
window grows, in whole 30-minute slots, just enough to end at or after the latest such departure,
but never past 24 h. Departures needing energy past 24 h are reported as beyond the horizon and
get no checkpoint (a later run will plan them); with adaptation off, so do departures past the
requested window. Departures that need no energy never grow it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from scheduling.models import MAX_WINDOW_H, SLOT_H
from scheduling.plan import WindowAdaptation
from scheduling.requirements import Checkpoint

_H = 3600.0


def adapt_window(
    window_start: datetime,
    requested_h: float,
    checkpoints: Sequence[Checkpoint],
    *,
    enabled: bool = True,
) -> tuple[int, WindowAdaptation]:
    """Number of slots and the adaptation report for these checkpoints."""
    requested_slots = math.ceil(requested_h / SLOT_H - 1e-9)
    max_slots = round(MAX_WINDOW_H / SLOT_H)
    n_slots = requested_slots
    extended: list[str] = []
    beyond: list[str] = []
    for cp in checkpoints:
        if cp.required_kwh <= 0:
            continue
        needed = math.ceil((cp.departure - window_start).total_seconds() / _H / SLOT_H - 1e-9)
        if needed <= requested_slots:
            continue
        if not enabled:
            beyond.append(cp.route_id)
        elif needed <= max_slots:
            extended.append(cp.route_id)
            n_slots = max(n_slots, needed)
        else:
            beyond.append(cp.route_id)
    report = WindowAdaptation(
        requested_h=requested_h,
        used_h=n_slots * SLOT_H,
        extended_for=tuple(extended),
        beyond_horizon=tuple(beyond),
    )
    return n_slots, report
