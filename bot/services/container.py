"""The services a running bot holds, built once per process (see bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import SessionFactory, engine_of
from bot.db.group_commit import GroupCommit
from bot.freshness import SQLITE_TTL_SECONDS, Freshness
from bot.processors.gateway import Gateway
from bot.services.access import Access
from bot.services.audit import AuditLog
from bot.services.deliveries import Deliveries
from bot.services.disputes import Disputes
from bot.services.events import Events
from bot.services.history import History
from bot.services.home import Home
from bot.services.jobs import JobQueue
from bot.services.listings import Listings
from bot.services.matters import Matters
from bot.services.notices import Notices
from bot.services.outbox import Outbox
from bot.services.refunds import Refunds
from bot.services.reports import Reports
from bot.services.transactions import Transactions
from bot.services.users import Users


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
    history: History
    listings: Listings
    home: Home
    reports: Reports
    outbox: Outbox
    events: Events
    disputes: Disputes
    deliveries: Deliveries
    notices: Notices


def build_services(
    settings: Settings, sessions: SessionFactory, gateway: Gateway, clock: Clock
) -> Services:
    writes = GroupCommit(sessions)  # audit rows and delivery keys of concurrent requests
    audit = AuditLog(sessions, clock, writes)
    # Reuse of what was read about portal users: on PostgreSQL only while this process listens
    # for their changes (db/changes.py, started by the bot), on SQLite for a second.
    on_sqlite = engine_of(sessions).dialect.name == "sqlite"
    freshness = Freshness(SQLITE_TTL_SECONDS if on_sqlite else 0)
    access = Access(sessions, audit, freshness)
    lease = timedelta(seconds=settings.paybot_lease_seconds)
    zone = settings.zone  # the firm's clock: the days every service counts
    listings = Listings(gateway, clock, zone)
    refunds = Refunds(sessions, gateway, audit, clock, settings.paybot_approvals_channel, zone)
    matters = Matters(sessions)
    disputes = Disputes(sessions, gateway, audit, settings.paybot_notify_channel, clock)
    return Services(
        settings=settings,
        sessions=sessions,
        clock=clock,
        gateway=gateway,
        audit=audit,
        access=access,
        users=Users(sessions, audit, clock, changed=access.forget),
        transactions=Transactions(gateway, audit),
        refunds=refunds,
        matters=matters,
        jobs=JobQueue(sessions, clock, lease),
        history=History(sessions, gateway, clock, zone, freshness),
        listings=listings,
        home=Home(sessions, gateway, listings, clock, zone),
        reports=Reports(gateway, audit, clock, zone),
        outbox=Outbox(sessions, clock, lease),
        events=Events(sessions, gateway, settings.paybot_notify_channel, clock, writes),
        disputes=disputes,
        deliveries=Deliveries(sessions, clock, writes),
        notices=Notices(sessions, gateway, refunds, disputes, matters, clock, zone),
    )
