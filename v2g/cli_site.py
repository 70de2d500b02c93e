"""What the database forms of the CLI share: options, progress, errors and exit codes.

``--site-id`` commands (``v2g allocate``, ``v2g schedule``, ``v2g plan``, ``v2g db seed``)
open ``--database-url`` (else ``V2G_DATABASE_URL``, else the embedded SQLite file), check the
schema, run, and exit 0 when done, 1 when planning or the database failed, 2 on bad input:
bad parameters, unknown site, missing data, unreadable files (the message names the key, the
file or the span).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from allocation import AllocationError, InvalidDayError
from scheduling import InvalidProblemError, SchedulingError
from v2g.planning import MissingDataError
from v2g.seed_csv import SeedError
from v2g.site_params import Overrides, ParameterFileError, SiteParameterError, read_parameter_file
from v2g.storage import Database, StorageError, ensure_schema, open_database
from v2g.storage.errors import DatabaseUrlError, SchemaError
from v2g.storage.sites import SiteNotFoundError

BAD_INPUT: tuple[type[Exception], ...] = (
    SiteParameterError,
    ParameterFileError,
    SiteNotFoundError,
    MissingDataError,
    InvalidDayError,
    InvalidProblemError,
    SeedError,
    DatabaseUrlError,
    SchemaError,
    ValidationError,
)
FAILED: tuple[type[Exception], ...] = (AllocationError, SchedulingError, StorageError)


def when(text: str) -> datetime:
    """An ISO time; UTC when it names no zone."""
    parsed = datetime.fromisoformat(text.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """``--database-url``."""
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="postgresql://... or sqlite:///file.db (default: V2G_DATABASE_URL, else "
        "sqlite:///v2g.db)",
    )


def add_site_options(parser: argparse.ArgumentParser) -> None:
    """``--params`` and ``--database-url`` (``--site-id`` is added by each command)."""
    parser.add_argument(
        "--params", type=Path, metavar="FILE", help="TOML overriding site parameters, this run"
    )
    add_database_option(parser)


def database_url(args: argparse.Namespace) -> str | None:
    """The URL to open: the option, else ``V2G_DATABASE_URL``, else None (the default)."""
    url: str | None = getattr(args, "database_url", None) or os.environ.get("V2G_DATABASE_URL")
    return url


def overrides(args: argparse.Namespace, flags: dict[str, Any]) -> list[Overrides]:
    """The ``--params`` file, then the command-line flags that were given."""
    layers = []
    if getattr(args, "params", None) is not None:
        layers.append(read_parameter_file(args.params))
    given = {k: v for k, v in flags.items() if v is not None}
    if given:
        layers.append(Overrides(given, "command line"))
    return layers


class StderrProgress:
    """One line per phase on stderr, with the seconds since the command started."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._started = time.perf_counter()
        self._stream = stream

    def __call__(self, message: str) -> None:
        """Print ``[  1.23 s] message``."""
        elapsed = time.perf_counter() - self._started
        print(f"[{elapsed:6.2f} s] {message}", file=self._stream or sys.stderr, flush=True)


def run_on_database(
    name: str,
    args: argparse.Namespace,
    work: Callable[[Database, StderrProgress], Awaitable[int]],
    *,
    migrate: bool = False,
) -> int:
    """Open the database, check (or upgrade) its schema, run ``work``; map errors to codes."""
    progress = StderrProgress()

    async def main() -> int:
        async with open_database(database_url(args)) as db:
            await ensure_schema(db, migrate=migrate)
            progress(f"opened {db.url.display}")
            return await work(db, progress)

    try:
        return asyncio.run(main())
    except BAD_INPUT as exc:
        print(f"v2g {name}: {exc}", file=sys.stderr)
        return 2
    except FAILED as exc:
        print(f"v2g {name}: failed: {exc}", file=sys.stderr)
        return 1
