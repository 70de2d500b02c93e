"""``v2g db seed``: load a site's folder of CSV and TOML files into the database.

    v2g db seed --site-id 10 --from DIR [--name NAME] [--prices FILE] [--database-url URL]

Upgrades the schema first (so one command sets up the embedded database), reads every file
of the folder before writing anything (see :mod:`v2g.seed`), upserts, and prints a table of
what it wrote. Registered on ``v2g db``'s subcommands by :mod:`v2g.cli_db`.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from v2g.cli_site import StderrProgress, add_database_option, run_on_database
from v2g.seed import SeedReport, seed_site
from v2g.seed_csv import parse_time
from v2g.storage import Database
from v2g.table import render_table


def register(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``seed`` to the ``db`` command's subparsers."""
    s = actions.add_parser("seed", help="load a site's CSV and TOML files into the database")
    s.add_argument("--site-id", required=True, help="the site to seed")
    s.add_argument("--from", dest="folder", required=True, type=Path, metavar="DIR")
    s.add_argument("--name", help="the site's display name")
    s.add_argument(
        "--prices", type=Path, metavar="FILE", help="price CSV to load instead of DIR/prices.csv"
    )
    s.add_argument(
        "--shift-to",
        type=_time_or_now,
        metavar="ISO|now",
        help="move every time by whole hours so the first route starts about an hour after "
        "this time (e.g. now: the service then plans the example today)",
    )
    add_database_option(s)
    s.set_defaults(func=cmd_seed)


def _time_or_now(text: str) -> datetime:
    if text.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def report_table(report: SeedReport) -> str:
    """One row per kind of data written."""
    r = report.routes
    rows = [
        ("parameter sets", len(report.parameter_sets), ", ".join(report.parameter_sets)),
        ("vehicles", report.vehicles, "upserted"),
        ("routes", r.inserted + r.updated, f"{r.inserted} new, {r.updated} changed, "
         f"{r.unchanged} unchanged"),
        ("prices", report.prices, "points replaced"),
        ("load forecast", report.load_points, "points replaced"),
    ]  # fmt: skip
    return render_table(("what", "rows", "detail"), rows)


def cmd_seed(args: argparse.Namespace) -> int:
    """Seed the site; print what was written."""

    async def work(db: Database, progress: StderrProgress) -> int:
        progress(f"reading {args.folder}")
        now = datetime.now(UTC)
        report = await seed_site(
            db,
            args.site_id,
            args.folder,
            now=now,
            name=args.name,
            prices_file=args.prices,
            shift_to_time=args.shift_to,
        )
        progress("done")
        print(f"site {report.site_id} seeded from {args.folder}")
        print(report_table(report))
        return 0

    return run_on_database("db seed", args, work, migrate=True)
