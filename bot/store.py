"""The database, the processor and the services, without Slack: what the CLI and the bot share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, utcnow
from bot.config import Settings
from bot.db.engine import SessionFactory, create_engine, create_session_factory
from bot.db.kept import Kept
from bot.db.migrate import upgrade_database
from bot.errors import StartError
from bot.metrics import MeteredGateway, Metrics
from bot.processors.factory import create_gateway
from bot.processors.gateway import Gateway
from bot.services.container import Services, build_services


@dataclass
class Store:
    engine: AsyncEngine
    sessions: SessionFactory
    services: Services
    metrics: Metrics

    async def close(self) -> None:
        await self.services.gateway.close()
        await Kept.close(self.engine)
        await self.engine.dispose()


async def open_store(settings: Settings, *, clock: Clock = utcnow, migrate: bool = True) -> Store:
    _check_folder(settings.database_url)
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    try:
        sessions = create_session_factory(engine)
        metrics = Metrics()
        gateway = cast(Gateway, MeteredGateway(create_gateway(settings, sessions, clock), metrics))
        if migrate:
            try:
                await upgrade_database(engine)
            except (OSError, SQLAlchemyError, asyncpg.PostgresError) as exc:
                raise unreachable(settings.database_url, exc) from exc
    except BaseException:
        await engine.dispose()
        raise
    return Store(engine, sessions, build_services(settings, sessions, gateway, clock), metrics)


def _check_folder(url: str) -> None:
    """SQLite makes the file, never its folder: say so before anything fails on it."""
    database = make_url(url).database
    if url.startswith("sqlite") and database and database != ":memory:":
        folder = Path(database).parent
        if not folder.is_dir():
            raise StartError(
                f"DATABASE_URL points into {folder}, a folder that does not exist: create it "
                "or choose another path"
            )


def unreachable(url: str, exc: BaseException) -> StartError:
    """One line naming the database (its password hidden) and what the driver said."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    where = make_url(url).render_as_string(hide_password=True)
    said = reason[0] if reason else type(exc).__name__
    return StartError(f"DATABASE_URL: the database {where} could not be used ({said})")
