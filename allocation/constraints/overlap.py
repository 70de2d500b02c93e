"""No time overlap, and a minimum turnaround between two routes of one vehicle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from allocation.constraints.base import TransitionConstraint
from allocation.models import Route
from allocation.window import Context


class NoOverlap(TransitionConstraint):
    """``after`` starts at least ``turnaround_min`` after ``before`` returns."""

    name = "no_overlap"

    def follows(self, ctx: Context, before: Route, after: Route) -> str | None:
        """Reject a route starting before the previous one is back and turned around."""
        ready = before.end + timedelta(minutes=ctx.params.turnaround_min)
        if after.start >= ready:
            return None
        gap_min = (after.start - before.end).total_seconds() / 60
        return (
            f"starts {gap_min:.0f} min after {before.route_id} returns; "
            f"{ctx.params.turnaround_min:g} min turnaround needed"
        )

    def follows_matrix(self, ctx: Context, routes: Sequence[Route]) -> NDArray[np.bool_]:
        """The same rule on arrays of start and end times (seconds from the window start)."""
        t0 = ctx.window_start
        start = np.array([(r.start - t0).total_seconds() for r in routes])
        end = np.array([(r.end - t0).total_seconds() for r in routes])
        ready = end + ctx.params.turnaround_min * 60
        later = np.triu(np.ones((len(routes), len(routes)), dtype=bool), k=1)
        return later & (start[None, :] >= ready[:, None])
