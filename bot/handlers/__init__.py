"""Bolt listeners: thin, one module per feature, each with register(app, services)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handlers import (
    audit,
    authorization,
    commands,
    disputes,
    errors,
    guards,
    history,
    home,
    listings,
    lookup,
    profile,
    refunds,
    reports,
    users,
)
from bot.services.container import Services


def register(app: AsyncApp, services: Services) -> None:
    app.middleware(guards.cleaned())
    app.middleware(guards.slack_hosts(services))
    app.middleware(guards.once(services))
    app.middleware(guards.rate_limited(services))
    app.middleware(authorization.middleware(services))
    app.error(errors.handle)
    router = commands.register(app, services)
    for feature in (lookup, profile, refunds, disputes, users, audit):
        feature.register(app, services, router)
    for feature in (history, listings, home, reports):
        feature.register(app, services, router)
