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
    installation,
    listings,
    lookup,
    profile,
    refunds,
    reports,
    runner,
    users,
)
from bot.services.container import Services


def register(
    app: AsyncApp, services: Services, ours: installation.Installation | None = None
) -> None:
    """``ours`` is the installation auth.test named at start; requests for another are refused."""
    runner.install(app)
    if ours is not None:
        app.middleware(installation.middleware(services, ours))
    app.middleware(guards.cleaned())
    app.middleware(guards.slack_hosts(services))
    app.middleware(guards.once(services))
    app.middleware(guards.rate_limited(services))
    app.middleware(authorization.middleware(services))
    app.error(errors.handler(services))
    router = commands.register(app, services)
    for feature in (lookup, profile, refunds, disputes, users, audit):
        feature.register(app, services, router)
    for feature in (history, listings, home, reports):
        feature.register(app, services, router)
