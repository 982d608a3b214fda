"""Keeping within limits cheaply: the per-person command limit, the per-channel pace of posts,
and digests that spend as few messages as Slack's 50 blocks allow."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bot.blocks import disputes as dispute_blocks
from bot.domain import Dispute, DisputeStatus, Money, PaymentReturn
from bot.handlers.gate import PerMinute
from bot.services.outbox import OutboxItem
from bot.workers.notifications import Pacer, Rendered, chunk_blocks, chunks

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def test_per_minute_is_a_moving_window_per_key() -> None:
    now = [1000.0]
    limiter = PerMinute(3, monotonic=lambda: now[0])
    for _ in range(3):
        assert limiter.hit("sam")
        now[0] += 10
    assert not limiter.hit("sam"), "a fourth within the minute is refused (and not counted)"
    assert limiter.hit("vic"), "another person has a limit of their own"
    now[0] = 1059.9
    assert not limiter.hit("sam"), "the first three are still inside the minute"
    now[0] = 1060.0
    assert limiter.hit("sam"), "a minute after the first, one more is allowed"
    assert not limiter.hit("sam")


def _dispute(number: int) -> Rendered:
    dispute = Dispute(
        id=f"dp_{number}",
        transaction_id=f"txn_{number}",
        amount=Money(10_000 + number, "USD"),
        status=DisputeStatus.NEEDS_RESPONSE,
        reason="Fraud",
        network_reason_code="10.4",
        respond_by=NOW + timedelta(days=10),
        created_at=NOW,
        matter_id=None,
    )
    item = OutboxItem(number, f"k{number}", "dispute.created", "C1", dispute.id, {}, 1, None)
    return Rendered(item, dispute_blocks.dispute_message(dispute, None, NOW), "d")


def _return(number: int) -> Rendered:
    payment_return = PaymentReturn(
        f"rt_{number}", f"txn_{number}", "R01", Money(500, "USD"), NOW, None
    )
    item = OutboxItem(number, f"k{number}", "return.created", "C1", payment_return.id, {}, 1, None)
    return Rendered(item, dispute_blocks.return_message(payment_return, "Insufficient"), "r")


def test_a_burst_fills_each_thread_message_up_to_fifty_blocks() -> None:
    items = [_dispute(n) if n % 10 < 7 else _return(n) for n in range(1000)]
    grouped = chunks(items)
    assert [one for group in grouped for one in group] == items, "every item once, in order"
    sizes = [len(chunk_blocks(group)) for group in grouped]
    assert max(sizes) <= 50
    assert len(grouped) <= 36, f"{len(grouped)} messages for 1,000 items"
    shown = str([b.to_dict() for b in chunk_blocks(grouped[0])])
    assert "Respond" in shown and "Accept" in shown, "a dispute keeps its buttons"
    assert "header" not in shown, "the parent says what the items are"


async def test_the_pace_counts_from_slacks_answer() -> None:
    pacer = Pacer(0.2)
    await pacer.wait("C1")
    await asyncio.sleep(0.15)  # the post took this long to be answered
    pacer.answered("C1")
    started = time.monotonic()
    await pacer.wait("C1")
    assert time.monotonic() - started >= 0.19, "a full interval after the answer"
    started = time.monotonic()
    await pacer.wait("C2")
    assert time.monotonic() - started < 0.05, "other channels do not wait"
