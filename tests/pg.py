"""The real PostgreSQL server of the test machine: a fresh database per test run.

``PG_ADMIN_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``, trust auth) is where
databases are created from; each run gets ``v2g_test_<random>``, dropped at the end. Without a
reachable server the tests that need it skip, except on CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

PG_ADMIN_URL = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1.0):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    """Skip (fail on CI) when PostgreSQL is not reachable."""
    if not _reachable(PG_ADMIN_URL):
        message = f"PostgreSQL not reachable at {urlsplit(PG_ADMIN_URL).netloc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin_async(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5.0)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _admin(sql: str) -> None:
    # in a thread of its own: fixtures may be set up while an event loop is running
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin_async(sql)).result()


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database; yield its URL; drop it afterwards."""
    require_postgres()
    name = f"v2g_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(PG_ADMIN_URL, name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
