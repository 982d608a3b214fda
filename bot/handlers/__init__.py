"""Bolt listeners: thin, one module per feature, each with register(app, services)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handlers import (
    audit,
    checklists,
    commands,
    disputes,
    errors,
    gate,
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
    """Every request passes the one gate (gate.py) before any listener; ``ours`` is the
    installation auth.test named at start, and requests for another are refused there."""
    runner.install(app)
    app.middleware(gate.Gate(services, ours))
    app.error(errors.handler(services))
    router = commands.register(app, services)
    for feature in (lookup, profile, refunds, disputes, users, audit):
        feature.register(app, services, router)
    for feature in (history, listings, home, reports):
        feature.register(app, services, router)
    checklists.register(app, services)
