"""The services a running bot holds, built once per process (see bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock, FirmClock
from bot.config import Settings
from bot.db.engine import SessionFactory, engine_of
from bot.db.group_commit import GroupCommit
from bot.freshness import SQLITE_TTL_SECONDS, Freshness
from bot.processors.gateway import Gateway
from bot.services.access import Access
from bot.services.audit import AuditLog
from bot.services.audit_export import AuditExport
from bot.services.checklists import Checklists
from bot.services.deliveries import Deliveries
from bot.services.digest import Digests
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
    audit_export: AuditExport
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
    digests: Digests
    checklists: Checklists


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
    firm = FirmClock(clock, settings.zone)  # the days every service counts are the firm's
    listings = Listings(gateway, firm)
    policy = settings.policy  # the approval policy (bot/policy.py)
    refunds = Refunds(sessions, gateway, audit, firm, settings.paybot_approvals_channel, policy)
    matters = Matters(sessions)
    disputes = Disputes(
        sessions,
        gateway,
        audit,
        settings.paybot_notify_channel,
        firm,
        policy,
        settings.paybot_dispute_margin_days,
    )
    checklists = Checklists(sessions, audit, firm, settings.paybot_checklist_remind_business_days)
    return Services(
        settings=settings,
        sessions=sessions,
        clock=clock,
        gateway=gateway,
        audit=audit,
        audit_export=AuditExport(sessions, audit, firm),
        access=access,
        users=Users(sessions, audit, clock, changed=access.forget),
        transactions=Transactions(gateway, audit),
        refunds=refunds,
        matters=matters,
        jobs=JobQueue(sessions, clock, lease),
        history=History(sessions, gateway, firm, freshness),
        listings=listings,
        home=Home(sessions, gateway, listings, checklists, firm),
        reports=Reports(gateway, audit, firm),
        outbox=Outbox(sessions, clock, lease),
        events=Events(sessions, gateway, settings.paybot_notify_channel, clock, writes),
        disputes=disputes,
        deliveries=Deliveries(sessions, clock, writes),
        digests=Digests(
            sessions,
            gateway,
            firm,
            settings.daily_digest_at,
            settings.paybot_notify_channel,
            checklists,
        ),
        notices=Notices(sessions, gateway, refunds, disputes, matters, checklists, firm),
        checklists=checklists,
    )
