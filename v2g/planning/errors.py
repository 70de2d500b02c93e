"""Errors of planning runs, one tree::

    PlanningError            a site cannot be planned; carries ``site_id``
     └── MissingDataError    data the run needs is not in the database (``what``, the span)

Bad parameters are :class:`v2g.site_params.SiteParameterError`; an unknown site is
:class:`v2g.storage.sites.SiteNotFoundError`; the solvers' own errors (``AllocationError``,
``SchedulingError``) pass through unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(when: datetime) -> str:
    """``2024-12-31T04:30Z``: a UTC time, short."""
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text.removesuffix(":00") + "Z"


class PlanningError(Exception):
    """A planning run of ``site_id`` could not be done."""

    def __init__(self, message: str, *, site_id: str) -> None:
        super().__init__(f"site {site_id}: {message}")
        self.site_id = site_id


class MissingDataError(PlanningError, ValueError):
    """Data needed for the run is missing: ``what``, over ``[start, end)`` when it is a span."""

    def __init__(
        self,
        what: str,
        *,
        site_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
        hint: str = "",
    ) -> None:
        span = f" from {iso(start)} to {iso(end)}" if start and end else ""
        super().__init__(f"{what}{span}" + (f" ({hint})" if hint else ""), site_id=site_id)
        self.what = what
        self.start = start
        self.end = end
