"""``v2g db``: the database's own commands.

    v2g db upgrade [--config FILE]     apply the schema migrations not applied yet
    v2g db seed --site-id 10 --from DIR  load a site's CSV/TOML files (:mod:`v2g.cli_seed`)

They act on ``V2G_DATABASE_URL`` (the embedded SQLite file ``v2g.db`` when unset). Each
subcommand is one function ``cmd_<name>(args) -> exit code`` registered in :func:`register`;
add the next one there.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from v2g import cli_seed
from v2g.settings import SettingsError, load_settings
from v2g.storage import StorageError, current_version, open_database, redact, upgrade
from v2g.storage.migrate import Migration

EXIT_OK, EXIT_ERROR = 0, 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``db`` and its subcommands."""
    db = subparsers.add_parser("db", help="database schema and data")
    actions = db.add_subparsers(dest="db_command", required=True)
    up = actions.add_parser("upgrade", help="apply the schema migrations not applied yet")
    up.add_argument("--config", type=Path, help="settings file (.toml or .env)")
    up.set_defaults(func=cmd_upgrade)
    cli_seed.register(actions)


def database_url(args: argparse.Namespace) -> str:
    """The database the command acts on (settings, else the embedded default)."""
    url = load_settings(args.config).with_embedded_database().database_url
    assert url is not None  # noqa: S101 (with_embedded_database sets one)
    return url


def cmd_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the schema; print each version applied, then the version it is at."""
    try:
        url = database_url(args)
        applied, version = asyncio.run(_upgrade(url))
    except (SettingsError, StorageError) as exc:
        sys.stderr.write(f"v2g db upgrade: {exc}\n")
        return EXIT_ERROR
    for migration in applied:
        sys.stdout.write(f"applied {migration.version:04d} {migration.name}\n")
    done = "" if applied else "nothing to apply; "
    sys.stdout.write(f"{redact(url)}: {done}schema at version {version}\n")
    return EXIT_OK


async def _upgrade(url: str) -> tuple[list[Migration], int]:
    async with open_database(url) as db:
        applied = await upgrade(db)
        return applied, await current_version(db)
