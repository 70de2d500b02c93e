"""Planning runs of a site: load from the database, allocate routes, schedule charging, store.

``plan_site(db, site_id, trigger, offload, now=...)`` is one run; ``planner(db, clock=...)``
binds it for the service's planning jobs.
"""

from v2g.planning.errors import MissingDataError, PlanningError
from v2g.planning.loader import RouteSource, load_day, load_schedule_problem
from v2g.planning.outcome import PlanOutcome
from v2g.planning.ports import Offload, PlanFn, Progress, inline_offload
from v2g.planning.run import plan_site, planner

__all__ = [
    "MissingDataError",
    "Offload",
    "PlanFn",
    "PlanOutcome",
    "PlanningError",
    "Progress",
    "RouteSource",
    "inline_offload",
    "load_day",
    "load_schedule_problem",
    "plan_site",
    "planner",
]
