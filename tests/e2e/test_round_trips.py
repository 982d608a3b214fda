"""Database round trips per answer, counted on the running bot's engine (issue 22).

What is counted: every statement the engine sends (SQLAlchemy's ``before_cursor_execute``) and
every connection taken from its pool (``checkout``), each attributed to the asyncio task that
sent it. The request's side is every task but the bot's own background ones (named
``paybot-…``), of which the worker is left out. Audit INSERTs are counted apart: the group
commit (db/group_commit.py) writes the rows of all requests waiting at that moment in one INSERT
and one commit, shown to be shared (twenty concurrent lookups commit their twenty rows in fewer
than twenty INSERTs); on SQLite in place, on the event loop's thread, when the write lock is
free (db/in_place.py: no hop, no pooled connection). Each request is answered only once its row is committed. Anything else
the group commit writes for a request (a delivery key) counts as the request's.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.db.models import AuditEntry
from bot.domain import Transaction
from tests.conftest import Harness
from tests.e2e.test_history import click

GROUP_COMMIT = "paybot-group-commit"


class Trips:
    """Statements and pool checkouts by who sent them: the request, or the group commit."""

    def __init__(self) -> None:
        self.request: list[str] = []
        self.checkouts = 0
        self.audit_inserts = 0
        self.in_place = 0  # statements made in place (db/in_place.py announces them so)

    @staticmethod
    def _task() -> str:
        task = asyncio.current_task()
        return task.get_name() if task is not None else ""

    def statement(self, *args: Any) -> None:
        statement: str = args[2]
        name = self._task()
        self.in_place += args[0] is None
        if statement.startswith("INSERT INTO audit_log"):
            self.audit_inserts += 1
        elif name == GROUP_COMMIT or not name.startswith("paybot-"):
            self.request.append(statement.split("\n")[0][:120])

    def checkout(self, *_: Any) -> None:
        if not self._task().startswith("paybot-"):
            self.checkouts += 1


@contextmanager
def counted(harness: Harness) -> Iterator[Trips]:
    trips = Trips()
    engine = harness.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", trips.statement)
    event.listen(engine.pool, "checkout", trips.checkout)
    try:
        yield trips
    finally:
        event.remove(engine, "before_cursor_execute", trips.statement)
        event.remove(engine.pool, "checkout", trips.checkout)


async def audit_rows(harness: Harness) -> int:
    async with harness.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def one_read(trips: Trips, what: str, checkouts: int = 1) -> None:
    """``checkouts``: 0 for a hot read, made on SQLite in place (db/in_place.py)."""
    assert len(trips.request) == 1, f"{what}: {trips.request}"
    assert trips.request[0].startswith("SELECT"), f"{what}: {trips.request}"
    assert trips.checkouts == checkouts, f"{what}: {trips.checkouts} connections taken"


def keep_for_a_minute(harness: Harness) -> None:
    """SQLite reuses what it read of a person for a second (bot/freshness.py): a slow machine
    must not let that pass between the warm-up and the counted request."""
    harness.bot.services.access.freshness.ttl = 60


async def test_a_lookup_a_history_page_and_a_click_each_cost_one_read(harness: Harness) -> None:
    keep_for_a_minute(harness)
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("125.50")
    listing: dict[str, Any] = {}
    for _ in range(2):  # warm: the actor and the history columns are read once, then kept
        await harness.slack.command(staff, f"lookup {txn.id}")
        listing = (await harness.slack.command(staff, "history")).json
        await click(harness, staff, "transaction_view", listing)
    rows = await audit_rows(harness)

    with counted(harness) as trips:
        answer = await harness.slack.command(staff, f"lookup {txn.id}")
    assert f"Payment {txn.id}" in answer.text
    one_read(trips, "/pay lookup", checkouts=0)
    assert trips.audit_inserts == 1 and await audit_rows(harness) == rows + 1

    with counted(harness) as trips:
        answer = await harness.slack.command(staff, "history")
    assert txn.id in answer.text
    one_read(trips, "/pay history")
    assert trips.audit_inserts == 0  # a listing is not audited, as before

    with counted(harness) as trips:
        shown = await click(harness, staff, "transaction_view", listing)
    assert f"Payment {txn.id}" in str(shown["blocks"])
    one_read(trips, "the View button", checkouts=0)
    assert trips.audit_inserts == 1 and await audit_rows(harness) == rows + 2


async def test_concurrent_lookups_are_audited_in_place_on_sqlite(harness: Harness) -> None:
    """Twenty lookups at once: twenty reads and twenty audit rows, all made in place, the rows
    in shared commits, no connection taken from the pool, every row committed before its
    answer."""
    people, txn = await twenty_people_who_looked(harness)
    rows = await audit_rows(harness)
    with counted(harness) as trips:
        answers = await asyncio.gather(
            *(harness.slack.command(person, f"lookup {txn.id}") for person in people)
        )
    assert all(f"Payment {txn.id}" in answer.text for answer in answers)
    assert Counter(s.split()[0] for s in trips.request) == {"SELECT": 20}, trips.request
    assert await audit_rows(harness) == rows + 20
    assert trips.audit_inserts < 20, "each lookup committed its audit row alone"
    assert (trips.in_place, trips.checkouts) == (20 + trips.audit_inserts, 0)
    print(f"20 concurrent lookups: {trips.audit_inserts} audit INSERTs, in place")


async def test_lookups_share_the_audit_commit_while_the_write_lock_is_taken(
    harness: Harness, database_url: str
) -> None:
    """Another connection holds SQLite's write lock: nothing waits on the event loop's thread;
    the rows go to the group commit, which writes them together once the lock is free."""
    people, txn = await twenty_people_who_looked(harness)
    rows = await audit_rows(harness)
    other = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with counted(harness) as trips:
        sent = asyncio.gather(
            *(harness.slack.command(person, f"lookup {txn.id}") for person in people)
        )
        await asyncio.sleep(0.3)
        assert await audit_rows(harness) == rows  # the lookups wait for their rows' commit
        other.execute("COMMIT")
        other.close()
        answers = await sent
    assert all(f"Payment {txn.id}" in answer.text for answer in answers)
    assert await audit_rows(harness) == rows + 20
    assert trips.audit_inserts < 20, "each lookup committed its audit row alone"
    print(f"20 lookups while the lock was taken: {trips.audit_inserts} audit INSERTs")


async def test_concurrent_lookups_share_the_audit_commit_on_postgresql(
    either_harness: Harness,
) -> None:
    harness = either_harness
    if harness.store.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the rows are written in place (the tests above)")
    keep_for_a_minute(harness)
    people, txn = await twenty_people_who_looked(harness)
    rows = await audit_rows(harness)
    with counted(harness) as trips:
        answers = await asyncio.gather(
            *(harness.slack.command(person, f"lookup {txn.id}") for person in people)
        )
    assert all(f"Payment {txn.id}" in answer.text for answer in answers)
    assert Counter(s.split()[0] for s in trips.request) == {"SELECT": 20}, trips.request
    assert await audit_rows(harness) == rows + 20  # every row committed before its answer
    assert trips.audit_inserts < 20, "each lookup committed its audit row alone"
    print(f"20 concurrent lookups: {trips.audit_inserts} audit INSERTs")


async def twenty_people_who_looked(harness: Harness) -> tuple[list[str], Transaction]:
    """Twenty viewers, each of whom has looked the payment up once (their actor is read)."""
    keep_for_a_minute(harness)
    people = [await harness.user(f"person{n:02d}", "viewer") for n in range(20)]
    txn = await harness.charge("125.50")
    for person in people:
        await harness.slack.command(person, f"lookup {txn.id}")
    return people, txn
