"""The database, the processor and the services, without Slack: what the CLI and the bot share."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, utcnow
from bot.config import Settings
from bot.db.engine import SessionFactory, create_engine, create_session_factory
from bot.db.migrate import upgrade_database
from bot.processors.factory import create_gateway
from bot.services.container import Services, build_services


@dataclass
class Store:
    engine: AsyncEngine
    sessions: SessionFactory
    services: Services

    async def close(self) -> None:
        await self.services.gateway.close()
        await self.engine.dispose()


async def open_store(settings: Settings, *, clock: Clock = utcnow, migrate: bool = True) -> Store:
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    if migrate:
        await upgrade_database(engine)
    sessions = create_session_factory(engine)
    gateway = create_gateway(settings, sessions, clock)
    return Store(engine, sessions, build_services(settings, sessions, gateway, clock))
