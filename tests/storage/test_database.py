"""The database API behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from v2g.storage import (
    Database,
    DatabaseUnavailableError,
    DatabaseUrl,
    DatabaseUrlError,
    Dialect,
    QueryError,
    SchemaError,
    current_version,
    ensure_schema,
    expected_version,
    open_database,
    redact,
    upgrade,
)

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


async def _site(db: Database, site_id: str, name: str = "") -> None:
    await db.execute(
        "INSERT INTO t_site (site_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        site_id,
        name,
        NOW,
    )


async def test_upgrade_is_idempotent(db: Database) -> None:
    """A second upgrade applies nothing and the version stays the expected one."""
    assert await upgrade(db) == []
    assert await current_version(db) == expected_version()
    assert await ensure_schema(db, migrate=False) == expected_version()


async def test_types_round_trip(db: Database) -> None:
    """Aware datetimes come back in UTC, booleans as bool, JSON as text, floats as float."""
    await _site(db, "10")
    local = datetime(2026, 11, 21, 9, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=1)))
    await db.execute(
        "INSERT INTO t_price (site_id, start_at, price_eur_per_kwh, triad) VALUES ($1, $2, $3, $4)",
        "10",
        local,
        -0.0125,
        True,
    )
    row = await db.fetchrow("SELECT * FROM t_price WHERE site_id = $1", "10")
    assert row is not None
    assert row["start_at"] == local
    assert row["start_at"].utcoffset() == timedelta(0)
    assert row["triad"] is True
    assert row["price_eur_per_kwh"] == pytest.approx(-0.0125)
    await db.execute(
        "INSERT INTO t_site_parameter (site_id, set_name, name, value, updated_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        "10",
        "default",
        "w",
        "100",
        NOW,
    )
    assert await db.fetchval("SELECT value FROM t_site_parameter") == "100"


async def test_time_order_is_preserved(db: Database) -> None:
    """Range queries on timestamps order by time, also with sub-second parts."""
    await _site(db, "10")
    times = [NOW + timedelta(seconds=s) for s in (2, 0.5, 1, 0, 1.25)]
    await db.executemany(
        "INSERT INTO t_load_forecast (site_id, start_at, load_kw) VALUES ($1, $2, $3)",
        [("10", t, float(i)) for i, t in enumerate(times)],
    )
    rows = await db.fetch(
        "SELECT start_at FROM t_load_forecast WHERE start_at >= $1 ORDER BY start_at",
        NOW + timedelta(seconds=0.5),
    )
    assert [r["start_at"] for r in rows] == sorted(t for t in times if t >= rows[0]["start_at"])
    assert len(rows) == 4


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    """An exception inside a transaction leaves nothing written."""

    async def fail_midway() -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO t_site (site_id, created_at, updated_at) VALUES ($1, $2, $2)",
                "10",
                NOW,
            )
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await fail_midway()
    assert await db.fetchval("SELECT COUNT(*) FROM t_site") == 0


async def test_constraint_violation_is_a_query_error(db: Database) -> None:
    """A duplicate key raises QueryError naming the statement; the first row stays."""
    await _site(db, "10", "first")
    with pytest.raises(QueryError, match="INSERT INTO t_site"):
        await _site(db, "10", "second")
    assert await db.fetchval("SELECT name FROM t_site") == "first"


async def test_copy_inserts_many_rows(db: Database) -> None:
    """copy() writes every row, with the same types as execute()."""
    await _site(db, "10")
    rows = [("10", NOW + timedelta(minutes=30 * i), 0.1 * i, i % 2 == 0) for i in range(500)]
    await db.copy("t_price", ["site_id", "start_at", "price_eur_per_kwh", "triad"], rows)
    assert await db.fetchval("SELECT COUNT(*) FROM t_price WHERE triad") == 250


async def test_naive_datetime_is_refused(db: Database) -> None:
    """A naive datetime is an error, never silently taken as local time."""
    await _site(db, "10")
    with pytest.raises(QueryError):
        await db.execute(
            "INSERT INTO t_load_forecast (site_id, start_at, load_kw) VALUES ($1, $2, $3)",
            "10",
            datetime(2026, 11, 21, 8, 0),
            1.0,
        )


async def test_outdated_schema_is_named(tmp_path: object) -> None:
    """An empty database fails the schema check with a hint to run `v2g db upgrade`."""
    async with open_database("sqlite:///:memory:") as db:
        with pytest.raises(SchemaError, match="v2g db upgrade"):
            await ensure_schema(db, migrate=False)
        assert await ensure_schema(db, migrate=True) == expected_version()


def test_urls() -> None:
    """URLs name their dialect; bad ones say what is wrong; passwords never show."""
    assert DatabaseUrl.parse(None).dialect is Dialect.SQLITE
    assert DatabaseUrl.parse("sqlite:///var/v2g.db").path == "var/v2g.db"
    assert DatabaseUrl.parse("sqlite:////abs/v2g.db").path == "/abs/v2g.db"
    pg = DatabaseUrl.parse("postgresql://v2g:secret@db:5432/v2g")
    assert pg.dialect is Dialect.POSTGRESQL
    assert "secret" not in pg.display
    assert redact("postgresql://u:p@h/d") == "postgresql://u:***@h/d"
    with pytest.raises(DatabaseUrlError, match="scheme"):
        DatabaseUrl.parse("mysql://h/d")
    with pytest.raises(DatabaseUrlError, match="three slashes"):
        DatabaseUrl.parse("sqlite://relative.db")


async def test_unreachable_postgres_is_named() -> None:
    """A server that does not answer raises DatabaseUnavailableError without the password."""
    with pytest.raises(DatabaseUnavailableError, match=r"\*\*\*") as info:
        async with open_database("postgresql://u:secret@127.0.0.1:1/d", connect_timeout_s=2):
            pass
    assert "secret" not in str(info.value)
