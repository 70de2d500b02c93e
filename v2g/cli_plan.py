"""``v2g plan`` and the ``--site-id`` forms of ``v2g allocate`` and ``v2g schedule``.

    v2g allocate --site-id 10 [--trigger-type initial] [--at ISO] [--window-hours H]
    v2g schedule --site-id 10 [--route-source planned|allocated] [--planning-window H] [--at ISO]
    v2g plan     --site-id 10 [--trigger cancellation] [--planning-window H] [--at ISO]

each with [--params FILE] [--solver NAME] [--time-limit S] [--output FILE.json]
[--database-url URL]. They read the site from the database, store what they compute, print
it as tables, and report each phase on stderr. ``--at`` (alias ``--start-time``) is the
planning time, default now; times without a zone are UTC. Exit codes: see :mod:`v2g.cli_site`.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from allocation import Trigger
from v2g.cli_schedule import SOLVER_CHOICES, hexaly_licence, plot_plan
from v2g.cli_site import StderrProgress, add_site_options, overrides, run_on_database, when
from v2g.plan_tables import outcome_report
from v2g.planning import PlanOutcome, RouteSource, inline_offload, plan_site
from v2g.storage import Database


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``plan`` subcommand."""
    p = subparsers.add_parser(
        "plan", help="allocate a site's routes, then schedule its charging (database)"
    )
    p.add_argument("--site-id", required=True, help="the site to plan")
    p.add_argument(
        "--trigger", "--trigger-type", choices=[t.value for t in Trigger], default="initial"
    )
    p.add_argument("--at", "--start-time", dest="start_time", type=when, metavar="ISO")
    p.add_argument("--planning-window", type=float, metavar="H", help="schedule hours, 4-24")
    p.add_argument("--window-hours", type=float, metavar="H", help="allocation window hours")
    p.add_argument("--solver", choices=SOLVER_CHOICES, help="default: the site's parameter")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds per solve")
    p.add_argument("--output", type=Path, help="also write the allocation and plan as JSON")
    add_site_options(p)
    p.set_defaults(func=cmd_plan)


def add_site_form(parser: argparse.ArgumentParser) -> None:
    """The options ``allocate`` and ``schedule`` take next to their file forms."""
    parser.add_argument("--site-id", help="read the site from the database instead of --input")
    add_site_options(parser)


def _flags(args: argparse.Namespace, *, allocation: bool, schedule: bool) -> dict[str, Any]:
    flags: dict[str, Any] = {"solver": getattr(args, "solver", None)}
    limit = getattr(args, "time_limit", None)
    if allocation:
        flags["planning_window_h"] = getattr(args, "window_hours", None)
        flags["allocation_time_limit_s"] = limit
    if schedule:
        flags["schedule_window_h"] = getattr(args, "planning_window", None)
        flags["schedule_time_limit_s"] = limit
    return flags


def _run(
    name: str,
    args: argparse.Namespace,
    *,
    allocation: bool,
    schedule: bool,
    route_source: RouteSource = RouteSource.ALLOCATED,
) -> int:
    async def work(db: Database, progress: StderrProgress) -> int:
        now = datetime.now(UTC)
        outcome = await plan_site(
            db,
            args.site_id,
            Trigger(args.trigger) if allocation else None,
            inline_offload,
            now=args.start_time or now,
            config_overrides=overrides(
                args, _flags(args, allocation=allocation, schedule=schedule)
            ),
            allocate_routes=allocation,
            schedule_charging=schedule,
            route_source=route_source,
            recorded_at=now,
            hexaly_licence=hexaly_licence(os.environ),
            progress=progress,
        )
        progress("done")
        if args.output is not None:
            _write(args.output, outcome)
        if getattr(args, "plot", None) is not None and outcome.plan is not None:
            try:
                plot_plan(outcome.plan, args.plot)
            except ImportError:
                progress("--plot needs matplotlib (extra 'plot'): no plot written")
        print(outcome_report(outcome))
        return 0

    return run_on_database(name, args, work)


def _write(path: Path, outcome: PlanOutcome) -> None:
    """The allocation, the plan, or ``{"allocation": ..., "plan": ...}`` when both ran."""
    parts = {
        key: json.loads(model.model_dump_json())
        for key, model in (("allocation", outcome.allocation), ("plan", outcome.plan))
        if model is not None
    }
    data = next(iter(parts.values())) if len(parts) == 1 else parts
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def cmd_plan(args: argparse.Namespace) -> int:
    """Allocate, then schedule in post-allocation mode; store both; print the tables."""
    return _run("plan", args, allocation=True, schedule=True)


def cmd_allocate_site(args: argparse.Namespace) -> int:
    """``v2g allocate --site-id``: allocate from the database and store the run."""
    return _run("allocate", args, allocation=True, schedule=False)


def cmd_schedule_site(args: argparse.Namespace) -> int:
    """``v2g schedule --site-id``: schedule from the database and store the plan."""
    source = RouteSource(args.route_source)
    return _run("schedule", args, allocation=False, schedule=True, route_source=source)
