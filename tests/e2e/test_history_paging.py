"""Recovery after a crash reads Slack's history a page at a time, as Slack serves it."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.db.models import OutboxMessage
from bot.workers.notifications import HISTORY_PAGE
from tests.conftest import NOTIFY, Harness
from tests.e2e.test_disputes import announced, everything_in


async def test_a_post_below_the_first_page_of_history_is_found_not_repeated(
    harness: Harness,
) -> None:
    """A process posted the chargeback and died before marking it sent; by the takeover the
    channel has more than a page of newer messages, so only the second page shows the post."""
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("61.00")
    dispute = await harness.sandbox.dispute(txn.id)
    await announced(harness, f"Chargeback {dispute.id}")
    [posted] = [m for m in harness.fake.messages(NOTIFY) if dispute.id in m.text]
    async with harness.store.sessions.begin() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "dispute.created")
            .values(
                state="pending", slack_ts=None, thread_ts=None, lease_owner=None, lease_until=None
            )
        )
    for i in range(HISTORY_PAGE + 20):
        harness.fake.post_as_user(staff, NOTIFY, f"chatter {i}")

    await harness.cycle()
    assert everything_in(harness).count(f"Chargeback {dispute.id}") == 1
    async with harness.store.sessions() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "dispute.created")
        )
    assert row is not None and row.state == "sent" and row.slack_ts == posted.ts
    reads = harness.fake.calls_to("conversations.history")
    assert len(reads) >= 2 and reads[-1].params.get("cursor"), "the second page was read"
