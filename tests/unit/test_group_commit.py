"""Writes of concurrent requests committed together: fewer transactions, the same rows, and an
error reaching only the caller whose write caused it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.group_commit import GroupCommit
from bot.db.models import AuditEntry, ProcessorEventRow
from bot.domain import EventType, PortalAccount, ProcessorEvent, Source
from bot.services.audit import AuditRecord, Outcome
from bot.store import Store

ACTOR = PortalAccount("sam", "Sam", "sam@firm.com", "staff", True, "USAM")


def count_commits(store: Store) -> list[int]:
    commits = [0]

    @event.listens_for(store.engine.sync_engine, "commit")
    def counted(_connection: Any) -> None:
        commits[0] += 1

    return commits


async def rows(store: Store, model: type[Any]) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_twenty_concurrent_audit_records_share_few_transactions(store: Store) -> None:
    commits = count_commits(store)
    await asyncio.gather(
        *(
            store.services.audit.record(
                AuditRecord("lookup", Outcome.DONE, Source.COMMAND, ACTOR, target_id=f"txn_{i}")
            )
            for i in range(20)
        )
    )
    assert await rows(store, AuditEntry) == 20, "every record committed before record() returned"
    assert commits[0] < 5, f"{commits[0]} commits for 20 concurrent records"
    async with store.sessions() as session:
        targets = list(await session.scalars(select(AuditEntry.target_id).order_by(AuditEntry.id)))
    assert targets == [f"txn_{i}" for i in range(20)], "in the order they were recorded"


async def test_a_failing_write_fails_its_own_caller_only(store: Store) -> None:
    writes = GroupCommit(store.sessions)

    async def insert(session: AsyncSession, items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("bad item")
        now = datetime.now(UTC)
        for item in items:
            session.add(
                AuditEntry(at=now, action="test", target_id=item, outcome="done", source="cli")
            )
        return [f"stored {item}" for item in items]

    results = await asyncio.gather(
        *(writes.run(insert, item) for item in ("a", "b", "bad", "c")), return_exceptions=True
    )
    assert results[:2] == ["stored a", "stored b"] and results[3] == "stored c"
    assert isinstance(results[2], ValueError)
    async with store.sessions() as session:
        stored = set(await session.scalars(select(AuditEntry.target_id)))
    assert stored == {"a", "b", "c"}


async def test_a_delivery_key_sent_twice_at_once_is_new_once(store: Store) -> None:
    firsts = await asyncio.gather(
        *(store.services.deliveries.first_time(f"trigger:{i % 3}") for i in range(9))
    )
    assert sorted(firsts) == [False] * 6 + [True] * 3
    assert firsts[:3] == [True, True, True], "the first of each key is the new one"
    assert not await store.services.deliveries.first_time("trigger:1")


@pytest.mark.parametrize("copies", [2, 5])
async def test_the_same_event_in_concurrent_webhooks_is_new_once(store: Store, copies: int) -> None:
    now = datetime.now(UTC)
    events = [
        ProcessorEvent(f"evt_{i}", EventType.PAYMENT_CREATED, f"txn_{i}", now, {}) for i in range(4)
    ]
    new = await asyncio.gather(
        *(store.services.events.ingest(events[: 2 + n % 3], "webhook") for n in range(copies))
    )
    assert sum(new) == 4 if copies == 5 else sum(new) == 3
    assert await rows(store, ProcessorEventRow) == (4 if copies == 5 else 3)
