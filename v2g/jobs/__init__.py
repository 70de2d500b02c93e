"""The periodic planning jobs of ``v2g serve``: allocation then scheduling, per site.

:class:`PlanningJobs` runs each site's planning on a rolling interval and on triggers, one run
at a time per site, retrying failures with backoff. The solves run off the event loop through
an :class:`Offload` (:class:`ProcessOffload` in the service) and :class:`LoopLagMonitor`
measures that the loop stays responsive. See ``docs/jobs.md``.
"""

from v2g.jobs.errors import JobError, JobTimeoutError
from v2g.jobs.looplag import LoopLagMonitor
from v2g.jobs.offload import InlineOffload, Offload, ProcessOffload, ThreadOffload
from v2g.jobs.publish import PublishReport, SchedulePublish, publish_schedules
from v2g.jobs.runner import PlanningJobs
from v2g.jobs.site import PlanFn, SiteJob
from v2g.jobs.triggers import Pending, TriggerQueue

__all__ = [
    "InlineOffload",
    "JobError",
    "JobTimeoutError",
    "LoopLagMonitor",
    "Offload",
    "Pending",
    "PlanFn",
    "PlanningJobs",
    "ProcessOffload",
    "PublishReport",
    "SchedulePublish",
    "SiteJob",
    "ThreadOffload",
    "TriggerQueue",
    "publish_schedules",
]
