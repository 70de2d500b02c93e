"""What one planning run of a site produced: the allocation, then the charge plan.

Returned by :func:`v2g.planning.plan_site` to the CLI (``v2g plan``) and to the periodic
jobs of ``v2g serve``, which turn it into metrics and retained schedule messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from allocation import AllocationResult, Trigger
from scheduling import ChargePlan


@dataclass(frozen=True)
class PlanOutcome:
    """One stored planning run: ``allocation`` is None when only scheduling ran."""

    site_id: str
    trigger: Trigger | None
    allocation: AllocationResult | None
    allocation_run_id: str | None
    plan: ChargePlan | None
    schedule_run_id: str | None
