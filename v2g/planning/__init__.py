"""Planning runs of a site: load from the database, allocate routes, schedule charging, store."""

from v2g.planning.outcome import PlanOutcome

__all__ = ["PlanOutcome"]
