"""The services a running bot holds, built once per process (see bot/app.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import SessionFactory
from bot.processors.gateway import Gateway
from bot.services.access import Access
from bot.services.audit import AuditLog
from bot.services.jobs import JobQueue
from bot.services.matters import Matters
from bot.services.refunds import Refunds
from bot.services.transactions import Transactions
from bot.services.users import Users


def _nothing() -> None:
    return None


@dataclass
class Services:
    settings: Settings
    sessions: SessionFactory
    clock: Clock
    gateway: Gateway
    audit: AuditLog
    access: Access
    users: Users
    transactions: Transactions
    refunds: Refunds
    matters: Matters
    jobs: JobQueue
    # Called after work is recorded, so a running worker starts on it at once (see workers/runner).
    wake: Callable[[], None] = field(default=_nothing)


def build_services(
    settings: Settings, sessions: SessionFactory, gateway: Gateway, clock: Clock
) -> Services:
    audit = AuditLog(sessions, clock)
    return Services(
        settings=settings,
        sessions=sessions,
        clock=clock,
        gateway=gateway,
        audit=audit,
        access=Access(sessions, audit),
        users=Users(sessions, audit, clock),
        transactions=Transactions(gateway, audit),
        refunds=Refunds(sessions, gateway, audit, clock),
        matters=Matters(sessions),
        jobs=JobQueue(sessions, clock),
    )
