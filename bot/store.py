"""The database, the processor and the services, without Slack: what the CLI and the bot share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, utcnow
from bot.config import Settings
from bot.db.engine import SessionFactory, create_engine, create_session_factory
from bot.db.migrate import upgrade_database
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
        await self.engine.dispose()


async def open_store(settings: Settings, *, clock: Clock = utcnow, migrate: bool = True) -> Store:
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    try:
        sessions = create_session_factory(engine)
        metrics = Metrics()
        gateway = cast(Gateway, MeteredGateway(create_gateway(settings, sessions, clock), metrics))
        if migrate:
            await upgrade_database(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Store(engine, sessions, build_services(settings, sessions, gateway, clock), metrics)
