"""Processor events against a real SQLite database: each event kept (and announced) once, however
many callers see it, and the poller's cursor moving with what it stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import EventCursor, OutboxMessage, ProcessorEventRow
from bot.domain import Account, EventType, MethodType, Money, PaymentKind, ProcessorEvent
from bot.processors.sandbox import SandboxSimulator
from bot.services.events import Events
from bot.store import Store

NOTIFY = "C0NOTIFY"
AT = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)


def event(event_id: str, kind: EventType = EventType.DISPUTE_CREATED) -> ProcessorEvent:
    return ProcessorEvent(event_id, kind, f"obj_{event_id}", AT, {"reason": "fraudulent"})


@pytest.fixture
def events(store: Store, clock: ManualClock) -> Events:
    """As the bot builds it, with a notify channel to announce to."""
    return Events(store.sessions, store.services.gateway, NOTIFY, clock)


@pytest.fixture
def simulator(store: Store, clock: ManualClock) -> SandboxSimulator:
    return SandboxSimulator(store.sessions, clock)


async def charge(simulator: SandboxSimulator) -> str:
    txn = await simulator.charge(
        Money(12550), MethodType.CARD, PaymentKind.SALE, "MAT-1", Account.OPERATING,
        "visa", "4242", "Dana Client",
    )  # fmt: skip
    return txn.id


async def stored(store: Store) -> list[tuple[str, str, str]]:
    async with store.sessions() as session:
        rows = (
            await session.scalars(select(ProcessorEventRow).order_by(ProcessorEventRow.event_id))
        ).all()
    return [(row.event_id, row.type, row.source) for row in rows]


async def announcements(store: Store) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def cursor(store: Store) -> str | None:
    async with store.sessions() as session:
        row = await session.get(EventCursor, "sandbox")
    assert row is not None, "no cursor stored"
    return row.cursor


async def test_new_events_are_stored_counted_and_the_announced_kinds_owed_to_the_channel(
    store: Store, events: Events
) -> None:
    batch = [event("evt_1"), event("evt_2", EventType.PAYMENT_CREATED)]
    assert await events.ingest(batch, "webhook") == 2
    assert await stored(store) == [
        ("evt_1", "dispute.created", "webhook"),
        ("evt_2", "payment.created", "webhook"),
    ]
    assert await events.seen("evt_1") and not await events.seen("evt_3")
    assert await announcements(store) == 1  # a new payment is not news for the channel


async def test_the_same_event_seen_twice_is_kept_and_announced_once(
    store: Store, events: Events
) -> None:
    assert await events.ingest([event("evt_1")], "webhook") == 1
    assert await events.ingest([event("evt_1")], "poll") == 0
    assert await events.ingest([event("evt_1"), event("evt_1")], "webhook") == 0
    assert await stored(store) == [("evt_1", "dispute.created", "webhook")]
    assert await announcements(store) == 1


async def test_an_event_twice_in_one_delivery_counts_once(store: Store, events: Events) -> None:
    assert await events.ingest([event("evt_1"), event("evt_1"), event("evt_2")], "webhook") == 2
    assert [row[0] for row in await stored(store)] == ["evt_1", "evt_2"]
    assert await announcements(store) == 2


async def test_twenty_callers_in_two_processes_seeing_one_event_at_once_keep_it_once(
    store: Store, events: Events, clock: ManualClock
) -> None:
    other = Events(store.sessions, store.services.gateway, NOTIFY, clock)  # a second process
    counts = await asyncio.gather(
        *(
            (events if n % 2 else other).ingest([event("evt_1")], "webhook" if n % 3 else "poll")
            for n in range(20)
        )
    )
    assert sorted(counts) == [0] * 19 + [1]
    assert len(await stored(store)) == 1
    assert await announcements(store) == 1


async def test_no_notify_channel_stores_the_event_and_announces_nothing(
    store: Store, clock: ManualClock
) -> None:
    quiet = Events(store.sessions, store.services.gateway, None, clock)
    assert await quiet.ingest([event("evt_1")], "webhook") == 1
    assert await quiet.seen("evt_1")
    assert await announcements(store) == 0


async def test_a_card_number_in_what_the_processor_wrote_is_masked_before_it_is_stored(
    store: Store, events: Events
) -> None:
    leaky = ProcessorEvent(
        "evt_1", EventType.DISPUTE_CREATED, "dp_1", AT, {"note": "card 4242424242424242"}
    )
    await events.ingest([leaky], "webhook")
    async with store.sessions() as session:
        row = await session.get(ProcessorEventRow, ("sandbox", "evt_1"))
        message = await session.scalar(select(OutboxMessage))
    assert row is not None and message is not None
    assert "4242424242424242" not in str(row.data)
    assert "4242424242424242" not in str(message.payload)


async def test_the_poller_reads_every_page_stores_its_cursor_and_then_finds_nothing_new(
    store: Store, events: Events, simulator: SandboxSimulator
) -> None:
    for _ in range(5):
        await charge(simulator)
    assert await events.poll(batch=2) == 5
    assert await cursor(store) == "5"
    assert await events.poll(batch=2) == 0
    assert await cursor(store) == "5"
    await charge(simulator)
    assert await events.poll(batch=2) == 1
    assert await cursor(store) == "6"
    assert {row[2] for row in await stored(store)} == {"poll"}


async def test_an_event_the_webhook_brought_first_is_not_new_to_the_poller(
    store: Store, events: Events, simulator: SandboxSimulator
) -> None:
    await charge(simulator)
    [pushed] = (await store.services.gateway.events(None)).events
    assert await events.ingest([pushed], "webhook") == 1
    await charge(simulator)
    assert await events.poll() == 1
    sources = {event_id: source for event_id, _, source in await stored(store)}
    assert sources.pop(pushed.id) == "webhook"
    assert list(sources.values()) == ["poll"]
    assert await cursor(store) == "2"


async def test_two_pollers_at_once_store_each_event_once(
    store: Store, events: Events, simulator: SandboxSimulator, clock: ManualClock
) -> None:
    for _ in range(6):
        await charge(simulator)
    other = Events(store.sessions, store.services.gateway, NOTIFY, clock)
    counts = await asyncio.gather(events.poll(batch=2), other.poll(batch=2))
    assert sum(counts) == 6
    assert len(await stored(store)) == 6
    assert await cursor(store) == "6"


async def test_a_first_start_begins_at_the_end_of_the_feed_and_later_starts_keep_the_cursor(
    store: Store, events: Events, simulator: SandboxSimulator
) -> None:
    for _ in range(3):
        await charge(simulator)
    assert await events.start_at_end() == "3"
    assert await events.poll() == 0  # the history before the bot is not news
    await charge(simulator)
    await charge(simulator)
    assert await events.start_at_end() == "3"  # downtime is caught up, not skipped
    assert await events.poll() == 2
    assert await cursor(store) == "5"


async def test_an_empty_feed_at_first_start_is_read_from_its_beginning_later(
    store: Store, events: Events, simulator: SandboxSimulator
) -> None:
    assert await events.start_at_end() is None
    assert await cursor(store) is None
    assert await events.poll() == 0
    await charge(simulator)
    assert await events.poll() == 1
    assert await cursor(store) == "1"
