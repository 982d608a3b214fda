"""Migrations on SQLite and PostgreSQL: concurrent start-up, and the append-only audit log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from bot.db.engine import create_engine
from bot.db.migrate import upgrade_database
from tests.processes import postgres_database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def tables(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names


async def test_two_processes_migrating_sqlite_at_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'two.db'}"
    engines = [create_engine(url) for _ in range(3)]
    await asyncio.gather(*(upgrade_database(e) for e in engines))
    for engine in engines:
        await engine.dispose()
    assert {
        "portal_users",
        "audit_log",
        "refund_requests",
        "jobs",
        "alembic_version",
    } <= await tables(url)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


async def test_concurrent_migrations_on_postgres_and_append_only_audit(pg_url: str) -> None:
    engines = [create_engine(pg_url) for _ in range(3)]
    await asyncio.gather(*(upgrade_database(e) for e in engines))
    engine = engines[0]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO audit_log (at, action, outcome, source) "
                "VALUES (now(), 'lookup', 'done', 'cli')"
            )
        )
    for statement in (
        "UPDATE audit_log SET outcome = 'denied'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar() == 1
    for e in engines:
        await e.dispose()
