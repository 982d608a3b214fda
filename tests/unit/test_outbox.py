"""The outbox against a real SQLite database: claim, lease, delivered once, recovery after a crash
between the post and its mark (found by the message metadata), and the wake after the commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select, update

from bot.clock import ManualClock
from bot.db.engine import wake_after_commit, wakeup
from bot.db.models import OutboxMessage
from bot.ids import NoticeKind
from bot.services import outbox
from bot.services.outbox import Outbox
from bot.slack.directory import SlackDirectory
from bot.store import Store
from bot.workers.jobs import job_handlers
from bot.workers.notifications import Delivery
from bot.workspace.slack_api import FakeSlack

CHANNEL = "C0NOTIFY"
TOKEN = "xoxb-outbox-test"


async def owe(store: Store, key: str = "k1", channel: str = CHANNEL) -> bool:
    """A returned withdrawal: a notice told from its payload alone (no processor lookup)."""
    return await store.services.outbox.add(
        key=key,
        kind=NoticeKind.WITHDRAWAL_RETURNED,
        channel=channel,
        object_id=f"wd_{key}",
        payload={"data": {"amount_minor": 12550, "currency": "USD", "code": "R01"}},
    )


async def rows(store: Store) -> list[OutboxMessage]:
    async with store.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_the_same_key_twice_is_one_message(store: Store) -> None:
    assert await owe(store)
    assert not await owe(store)
    assert [r.key for r in await rows(store)] == ["k1"]


async def test_a_claimed_row_is_leased_to_its_claimer_alone(store: Store) -> None:
    await owe(store, "k1")
    await owe(store, "k2")
    box = store.services.outbox
    first = await box.claim("worker-a")
    assert [i.key for i in first] == ["k1", "k2"] and all(i.attempts == 1 for i in first)
    assert await box.claim("worker-b") == [], "a leased row is not taken by a second worker"
    assert {(r.state, r.lease_owner) for r in await rows(store)} == {(outbox.SENDING, "worker-a")}


async def test_an_expired_lease_is_taken_over(store: Store, clock: ManualClock) -> None:
    await owe(store)
    box = Outbox(store.sessions, clock)
    [claimed] = await box.claim("dead-worker")
    clock.advance(seconds=outbox.LEASE.total_seconds() - 1)
    assert await box.claim("worker-b") == [], "still within the lease"
    clock.advance(seconds=2)
    [taken] = await box.claim("worker-b")
    assert (taken.id, taken.attempts) == (claimed.id, 2)
    await box.sent([claimed.id], "1.1", None, "dead-worker")
    [row] = await rows(store)
    assert row.state == outbox.SENDING, "the dead worker's late mark does not count"
    await box.sent([taken.id], "1.2", None, "worker-b")
    [row] = await rows(store)
    assert (row.state, row.slack_ts) == (outbox.SENT, "1.2")


async def test_a_sent_row_is_never_claimed_again(store: Store, clock: ManualClock) -> None:
    await owe(store)
    box = store.services.outbox
    [claimed] = await box.claim("worker-a")
    await box.sent([claimed.id], "1.1", None, "worker-a")
    clock.advance(hours=1)
    assert await box.claim("worker-b") == []
    assert await box.backlog() == 0


async def test_a_failure_backs_off_then_gives_up(store: Store, clock: ManualClock) -> None:
    await owe(store)
    box = store.services.outbox
    [claimed] = await box.claim("worker-a")
    await box.retry(claimed, "worker-a", "boom")
    assert await box.claim("worker-a") == [], "not before the back-off"
    clock.advance(seconds=3)
    [again] = await box.claim("worker-a")
    assert again.attempts == 2
    await box.retry(again, "worker-a", "boom")
    async with store.sessions.begin() as session:
        await session.execute(update(OutboxMessage).values(attempts=outbox.MAX_ATTEMPTS - 1))
    clock.advance(minutes=10)
    [last] = await box.claim("worker-a")
    await box.retry(last, "worker-a", "boom")
    clock.advance(hours=1)
    assert await box.claim("worker-a") == [], "given up"
    [row] = await rows(store)
    assert (row.state, row.last_error) == (outbox.DEAD, "boom")


async def test_released_rows_are_taken_at_once_without_an_attempt_spent(store: Store) -> None:
    await owe(store)
    box = store.services.outbox
    [claimed] = await box.claim("stopping")
    await box.release([claimed.id], "stopping")
    [taken] = await box.claim("worker-b")
    assert taken.attempts == 1


async def test_recording_work_wakes_the_worker_after_the_commit_only(store: Store) -> None:
    rings: list[int] = []
    wakeup(store.sessions).connect(lambda: rings.append(len(rings)))
    async with store.sessions.begin() as session:
        await outbox.add(
            session,
            key="k1",
            kind=NoticeKind.WITHDRAWAL_RETURNED,
            channel=CHANNEL,
            object_id="wd_1",
            payload={},
            now=store.services.clock(),
        )
        await session.flush()
        assert rings == [], "not before the commit: the worker would look before the row is there"
    assert rings == [0]
    with pytest.raises(RuntimeError):
        async with store.sessions.begin() as session:
            wake_after_commit(session)
            raise RuntimeError("rolled back")
    async with store.sessions.begin() as session:
        await session.execute(select(OutboxMessage.id))
    assert rings == [0], "neither a rolled-back transaction nor a later one rings"
    await owe(store, "k2")
    assert rings == [0, 1], "the service's own commit rings too"


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, AsyncWebClient]]:
    fake = FakeSlack(bot_token=TOKEN)
    url = await fake.start()
    fake.add_channel(CHANNEL, "payments")
    async with aiohttp.ClientSession() as http:
        yield fake, AsyncWebClient(token=TOKEN, base_url=url, session=http)
    await fake.stop()


def delivery(store: Store, client: AsyncWebClient, clock: ManualClock) -> Delivery:
    directory = SlackDirectory(client, store.sessions, clock)
    return Delivery(store.services, client, directory, clock, pace=0.0)


async def test_delivered_once_with_its_keys_in_the_message_metadata(
    store: Store, clock: ManualClock, slack: tuple[FakeSlack, AsyncWebClient]
) -> None:
    fake, client = slack
    await owe(store)
    assert await delivery(store, client, clock).deliver() == 1
    assert await delivery(store, client, clock).deliver() == 0
    [message] = fake.messages(CHANNEL)
    assert "wd_k1" in message.text
    found: dict[str, Any] = message.metadata or {}
    assert found["event_payload"] == {"outbox": [{"key": "k1"}]}
    [row] = await rows(store)
    assert (row.state, row.slack_ts) == (outbox.SENT, message.ts)


async def test_a_crash_between_post_and_mark_is_recovered_without_a_second_post(
    store: Store, clock: ManualClock, slack: tuple[FakeSlack, AsyncWebClient]
) -> None:
    """The process posted and died before marking the row sent: its lease runs out, another
    process finds the post by the outbox key in its metadata and marks it, posting nothing."""
    fake, client = slack
    await owe(store)
    await delivery(store, client, clock).deliver()
    [posted] = fake.messages(CHANNEL)
    async with store.sessions.begin() as session:  # as the dead process left it: claimed, unmarked
        await session.execute(
            update(OutboxMessage).values(
                state=outbox.SENDING, slack_ts=None, lease_owner="dead", lease_until=clock()
            )
        )
    clock.advance(seconds=1)
    assert await delivery(store, client, clock).deliver() == 0
    assert len(fake.messages(CHANNEL)) == 1, "not posted again"
    [row] = await rows(store)
    assert (row.state, row.slack_ts, row.attempts) == (outbox.SENT, posted.ts, 2)


async def test_jobs_an_earlier_version_queued_to_post_become_messages_owed(store: Store) -> None:
    """An upgrade finds jobs that posted to Slack themselves: each is the message it stood for."""
    handlers = job_handlers(store.services)
    assert {"refund.post_approval", "refund.announce", "dispute.post_draft"} <= set(handlers)
    await handlers["refund.reply"]({"request_id": "r1", "milestone": "succeeded"})
    await handlers["refund.reply"]({"request_id": "r1", "milestone": "missing", "emails": ["a@b"]})
    await handlers["refund.dm"]({"request_id": "r1", "milestone": "failed", "user": "USAM"})
    await handlers["refund.dm"]({"request_id": "r1", "milestone": "failed", "user": "USAM"})
    assert [(r.kind, r.key, r.payload) for r in await rows(store)] == [
        (NoticeKind.REFUND_MILESTONE, "refund.milestone:r1:succeeded", {"milestone": "succeeded"}),
        (NoticeKind.REFUND_CHECKLIST, "refund.checklist:r1", {}),
        (NoticeKind.MATTER_MISSING, "refund.matter.missing:r1", {"emails": ["a@b"]}),
        (NoticeKind.REFUND_DM, "refund.dm:r1:failed:USAM", {"milestone": "failed"}),
    ]
