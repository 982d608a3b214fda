"""Checklist ticks on SQLite and PostgreSQL: concurrent clicks by several people each count
once, both people are in the audit log, the checklist closes once, every tick owes one update."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy import select

from bot.bookkeeping import ChecklistKind
from bot.clock import FirmClock, ManualClock
from bot.db.engine import SessionFactory, create_engine, create_session_factory
from bot.db.migrate import upgrade_database
from bot.db.models import AuditEntry, OutboxMessage
from bot.domain import Money, PortalAccount, Source
from bot.errors import Denied
from bot.ids import NoticeKind
from bot.services.audit import AuditLog
from bot.services.checklists import Checklists, StaleChecklist, Tick
from tests.conftest import START
from tests.unit.test_database import PG_ADMIN

STEPS = ("cover_transfer", "cover_deposit", "reconcile")


def person(username: str, role: str = "staff") -> PortalAccount:
    return PortalAccount(
        username, username.title(), f"{username}@firm.com", role, True, f"U{username}"
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionFactory]:
    admin = None
    name = f"paybot_test_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'checklists.db'}"
    else:
        try:
            admin = await asyncpg.connect(PG_ADMIN, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}")
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
        yield create_session_factory(engine)
    finally:
        await engine.dispose()
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def opened(checklists: Checklists) -> str:
    await checklists.open_trust_debit(
        ChecklistKind.CHARGEBACK, "dp_1", "txn_1", Money(210000), "MAT-1", "C0NOTIFY", "1.000001"
    )
    work = await checklists.open_work()
    (checklist,) = work.uncovered_trust_debits
    await checklists.set_message(checklist.id, "C0NOTIFY", "1.000002", "1.000001")
    return checklist.id


async def test_concurrent_ticks_by_two_people_each_count_once_and_close_it_once(
    sessions: SessionFactory,
) -> None:
    clock = ManualClock(START)
    checklists = Checklists(
        sessions, AuditLog(sessions, clock), FirmClock(clock, ZoneInfo("America/New_York"))
    )
    checklist_id = await opened(checklists)
    sam, meg = person("sam"), person("meg", "manager")
    clicks = [
        checklists.tick(who, Tick(checklist_id, frozenset(steps), frozenset()), Source.BUTTON)
        for _ in range(10)
        for who, steps in ((sam, STEPS[:1]), (meg, STEPS[1:]))
    ]
    results = await asyncio.gather(*clicks, return_exceptions=True)
    # A click that lands after the last step closed the checklist is told so, not recorded.
    failed = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, StaleChecklist) for r in failed), failed

    final = await checklists.get(checklist_id)
    assert final is not None and final.closed_at is not None
    assert [(s.key, s.done_by_username) for s in final.steps] == [
        ("cover_transfer", "sam"),
        ("cover_deposit", "meg"),
        ("reconcile", "meg"),
    ]
    async with sessions() as session:
        audit = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.target_id == checklist_id)
                .order_by(AuditEntry.id)
            )
        ).all()
        updates = (
            await session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.kind == NoticeKind.CHECKLIST_UPDATE)
            )
        ).all()
    ticks = [a for a in audit if a.action == "tick_checklist"]
    assert sorted((a.actor_username, (a.after or {}).get("step")) for a in ticks) == [
        ("meg", "cover_deposit"),
        ("meg", "reconcile"),
        ("sam", "cover_transfer"),
    ]
    assert [a.action for a in audit][-1] == "close_checklist"
    assert [a.action for a in audit].count("close_checklist") == 1
    assert len(updates) == len(set(updates)) == final.version == 2  # one per click that changed


async def test_a_viewer_cannot_tick_even_past_the_gate(sessions: SessionFactory) -> None:
    clock = ManualClock(START)
    checklists = Checklists(sessions, AuditLog(sessions, clock), FirmClock(clock))
    checklist_id = await opened(checklists)
    with pytest.raises(Denied, match="staff role"):
        await checklists.tick(
            person("vic", "viewer"),
            Tick(checklist_id, frozenset(STEPS), frozenset()),
            Source.BUTTON,
        )
    found = await checklists.get(checklist_id)
    assert found is not None and not any(step.done for step in found.steps)


async def test_the_dashboard_reads_the_oldest_few_and_counts_the_rest(
    sessions: SessionFactory,
) -> None:
    clock = ManualClock(START)
    checklists = Checklists(sessions, AuditLog(sessions, clock), FirmClock(clock))
    for number in range(7):
        clock.advance(minutes=1)
        await checklists.open_trust_debit(
            ChecklistKind.CHARGEBACK,
            f"dp_{number}",
            f"txn_{number}",
            Money(1000),
            None,
            "C0NOTIFY",
            f"1.{number}",
        )
    first = await checklists.open_work(limit=5)
    assert [c.subject_id for c in first.checklists] == [f"dp_{n}" for n in range(5)]  # oldest
    assert await checklists.open_count() == 7
