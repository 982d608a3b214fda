"""Bolt listeners: thin, one module per feature, each with register(app, services)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handlers import (
    audit,
    authorization,
    commands,
    disputes,
    errors,
    lookup,
    profile,
    refunds,
    users,
)
from bot.services.container import Services


def register(app: AsyncApp, services: Services) -> None:
    app.middleware(authorization.middleware(services))
    app.error(errors.handle)
    router = commands.register(app, services)
    for feature in (lookup, profile, refunds, disputes, users, audit):
        feature.register(app, services, router)
