"""Errors of the planning jobs.

    JobError                 a planning job could not complete; carries ``site_id`` and ``job``
     └── JobTimeoutError     an off-loop call ran past its ``timeout_s``; its worker was killed

Domain errors raised by the run itself (``AllocationError``, ``SchedulingError``, database
errors) are not wrapped: the runner logs, counts and retries any exception the same way.
"""

from __future__ import annotations


class JobError(Exception):
    """A planning job failed outside the domain code (its worker died, it timed out)."""

    def __init__(self, message: str, *, site_id: str | None = None, job: str | None = None) -> None:
        where = f"site {site_id}, " if site_id is not None else ""
        super().__init__(f"{where}{job or 'job'}: {message}")
        self.site_id = site_id
        self.job = job


class JobTimeoutError(JobError):
    """An off-loop call took longer than ``timeout_s``; the worker running it was killed."""

    def __init__(
        self, message: str, *, timeout_s: float, site_id: str | None = None, job: str | None = None
    ) -> None:
        super().__init__(message, site_id=site_id, job=job)
        self.timeout_s = timeout_s
