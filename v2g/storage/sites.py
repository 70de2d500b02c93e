"""Sites and their named parameter sets (``t_site``, ``t_site_parameter``).

A site has any number of named sets, one of them active (``t_site.parameter_set``, default
``default``). A set stores only the keys it sets, one JSON value per key; the others take the
documented defaults of :class:`~v2g.site_params.SiteConfig`. Sets are validated when written
and again when loaded, so a set edited by hand in the database fails with a message naming
its key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from v2g.site_params import Overrides, SiteConfig, apply_overrides, parse_config
from v2g.storage.database import Database, Executor
from v2g.storage.errors import StorageError

DEFAULT_SET = "default"


class SiteNotFoundError(StorageError, LookupError):
    """The site (or its named parameter set) is not in the database."""

    def __init__(self, site_id: str, set_name: str | None = None) -> None:
        self.site_id = site_id
        self.set_name = set_name
        what = f"site {site_id}" if set_name is None else f"site {site_id}, parameter set"
        detail = "" if set_name is None else f" '{set_name}'"
        super().__init__(f"{what}{detail} is not in the database (seed it: v2g db seed)")


@dataclass(frozen=True)
class Site:
    """A site row."""

    site_id: str
    name: str
    parameter_set: str


async def upsert_site(
    db: Executor, site_id: str, *, now: datetime, name: str | None = None
) -> None:
    """Create the site if missing; set its name when ``name`` is given."""
    await db.execute(
        "INSERT INTO t_site (site_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) "
        "ON CONFLICT (site_id) DO NOTHING",
        site_id,
        name or "",
        now,
    )
    if name is not None:
        await db.execute(
            "UPDATE t_site SET name = $2, updated_at = $3 WHERE site_id = $1 AND name <> $2",
            site_id,
            name,
            now,
        )


async def get_site(db: Executor, site_id: str) -> Site | None:
    """The site, or None."""
    row = await db.fetchrow(
        "SELECT site_id, name, parameter_set FROM t_site WHERE site_id = $1", site_id
    )
    return None if row is None else Site(row["site_id"], row["name"], row["parameter_set"])


async def list_sites(db: Executor) -> list[Site]:
    """Every site, by id."""
    rows = await db.fetch("SELECT site_id, name, parameter_set FROM t_site ORDER BY site_id")
    return [Site(r["site_id"], r["name"], r["parameter_set"]) for r in rows]


async def put_parameter_set(
    db: Database, site_id: str, set_name: str, values: Mapping[str, Any], *, now: datetime
) -> SiteConfig:
    """Validate ``values`` and make them the whole named set (replacing what it held)."""
    config = parse_config(values, site_id=site_id, set_name=set_name)
    if await get_site(db, site_id) is None:
        raise SiteNotFoundError(site_id)
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM t_site_parameter WHERE site_id = $1 AND set_name = $2", site_id, set_name
        )
        await tx.executemany(
            "INSERT INTO t_site_parameter (site_id, set_name, name, value, updated_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(site_id, set_name, k, json.dumps(v), now) for k, v in sorted(values.items())],
        )
        await tx.execute("UPDATE t_site SET updated_at = $2 WHERE site_id = $1", site_id, now)
    return config


async def get_parameter_set(db: Executor, site_id: str, set_name: str) -> dict[str, Any]:
    """The raw values the named set holds (empty when it holds none)."""
    rows = await db.fetch(
        "SELECT name, value FROM t_site_parameter WHERE site_id = $1 AND set_name = $2 "
        "ORDER BY name",
        site_id,
        set_name,
    )
    return {r["name"]: json.loads(r["value"]) for r in rows}


async def list_parameter_sets(db: Executor, site_id: str) -> list[str]:
    """Names of the site's stored sets."""
    rows = await db.fetch(
        "SELECT DISTINCT set_name FROM t_site_parameter WHERE site_id = $1 ORDER BY set_name",
        site_id,
    )
    return [r["set_name"] for r in rows]


async def activate_parameter_set(
    db: Executor, site_id: str, set_name: str, *, now: datetime
) -> None:
    """Make ``set_name`` the site's active set (it must hold values, or be ``default``)."""
    if await get_site(db, site_id) is None:
        raise SiteNotFoundError(site_id)
    if set_name != DEFAULT_SET and set_name not in await list_parameter_sets(db, site_id):
        raise SiteNotFoundError(site_id, set_name)
    await db.execute(
        "UPDATE t_site SET parameter_set = $2, updated_at = $3 WHERE site_id = $1",
        site_id,
        set_name,
        now,
    )


async def load_site_config(
    db: Executor,
    site_id: str,
    *,
    overrides: Sequence[Overrides] = (),
    set_name: str | None = None,
) -> SiteConfig:
    """The validated config of the site's active set (or ``set_name``), overrides applied."""
    site = await get_site(db, site_id)
    if site is None:
        raise SiteNotFoundError(site_id)
    name = set_name or site.parameter_set
    values = await get_parameter_set(db, site_id, name)
    if not values and name != DEFAULT_SET:
        raise SiteNotFoundError(site_id, name)
    config = parse_config(values, site_id=site_id, set_name=name)
    return apply_overrides(config, overrides, site_id=site_id, set_name=name)
