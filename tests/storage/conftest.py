"""Every repository test runs twice: on the embedded SQLite file and on real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.pg import fresh_database
from v2g.storage import Database, open_database, upgrade

_TABLES_FIRST_CHILDREN = (
    "t_result, t_ack, t_order, t_signal, t_load_forecast, t_price, t_charge_schedule, "
    "t_schedule_run, t_route_allocated, t_allocation_run, t_route_plan, t_vehicle, "
    "t_site_parameter, t_site"
)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database created for this test run (migrated by the first test that uses it)."""
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'v2g.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    async with open_database(url) as database:
        await upgrade(database)
        if request.param == "postgresql":
            await database.execute(f"TRUNCATE {_TABLES_FIRST_CHILDREN} CASCADE")
        yield database
