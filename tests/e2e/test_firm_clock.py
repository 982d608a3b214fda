"""The firm's clock through the real entry points: the days of the dashboard and a report are
days in PAYBOT_TIMEZONE (America/New_York by default), and a refund's approval message says the
bank day it is expected to have settled by."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.db.models import OutboxMessage
from bot.domain import RefundState
from bot.ids import NoticeKind
from tests.conftest import APPROVALS, Harness, eventually
from tests.e2e.test_home import opened_home, request_refund
from tests.e2e.test_refunds import request_refund as ask_refund
from tests.e2e.test_refunds import state_is, thread
from tests.e2e.test_reports import uploaded


def fields(view: dict[str, Any]) -> dict[str, str]:
    """The dashboard's volume fields: label -> value."""
    (volume,) = [b for b in view["blocks"] if b.get("block_id") == "home_volume"]
    found = {}
    for item in volume["fields"]:
        label, value = item["text"].split("\n", 1)
        found[label.strip("*")] = value
    return found


async def test_late_on_the_last_day_of_a_month_in_new_york_is_still_that_day_and_month(
    harness: Harness,
) -> None:
    """23:30 on 30 November in New York is 04:30 on 1 December in UTC: the payment made then is
    the New York day's, on the dashboard and in November's report."""
    manager = await harness.user("meg", "manager")
    harness.clock.now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 12:00 in New York
    await harness.charge("100.00")
    harness.clock.now = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)  # 23:30 in New York
    await harness.charge("25.00")

    view = await opened_home(harness, manager)
    shown = fields(view)
    assert shown["Today"] == "125.00 USD (2)", shown
    assert shown["This month"] == "125.00 USD (2)", shown
    assert "days in America/New_York" in json.dumps(view["blocks"])

    answer = await harness.slack.command(manager, "report 2026-11")
    assert answer.status == 200
    rows = list(csv.DictReader(io.StringIO((await uploaded(harness, ".csv")).decode())))
    *days, total = rows
    assert len(days) == 30 and days[-1]["date"] == "2026-11-30"
    assert days[-1]["payments"] == "2" and days[-1]["volume"] == "125.00"
    assert total["payments"] == "2"
    summary = await harness.fake.wait_for(
        lambda: [m for m in harness.fake.messages("C0GENERAL") if m.blocks], what="summary"
    )
    assert "Days in America/New_York." in json.dumps(summary[0].blocks)


async def test_a_refund_asked_for_on_the_friday_before_a_monday_bank_holiday_is_expected_wednesday(
    harness: Harness,
) -> None:
    """Friday 15 January 2027; Monday 18 is Martin Luther King Jr. Day, a Federal Reserve
    holiday: the two bank days are Tuesday and Wednesday."""
    staff = await harness.user("sam", "staff")
    harness.clock.now = datetime(2027, 1, 15, 20, 0, tzinfo=UTC)  # Friday 15:00 in New York
    await request_refund(harness, staff)
    (message,) = [m for m in harness.fake.messages(APPROVALS) if m.blocks]
    shown = json.dumps(message.blocks, ensure_ascii=False)
    assert "*Expected to settle by*\\nWed 2027-01-20" in shown
    assert "2027-01-15 15:00 EST" in shown  # the request's time, in the firm's zone as fallback


async def test_a_refund_still_pending_after_its_expected_day_is_flagged_once_in_its_thread(
    harness: Harness,
) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    harness.clock.now = datetime(2027, 1, 15, 20, 0, tzinfo=UTC)  # Friday 15:00 in New York
    txn = await harness.charge("75.00")
    parent = await ask_refund(harness, staff, txn.id, "Paid twice")
    await harness.slack.block_action(manager, "refund_approve", message=parent)
    await eventually(lambda: state_is(harness, txn.id, RefundState.PENDING), what="pending")
    refunds = harness.store.services.refunds

    async def flags() -> int:
        async with harness.store.sessions() as session:
            found = await session.scalar(
                select(func.count()).where(OutboxMessage.kind == NoticeKind.REFUND_OVERDUE.value)
            )
        return int(found or 0)

    harness.clock.now = datetime(2027, 1, 21, 4, 30, tzinfo=UTC)  # Wednesday 23:30 in New York
    await refunds.check_pending()
    assert await flags() == 0, "still its expected day"

    harness.clock.now = datetime(2027, 1, 21, 14, 0, tzinfo=UTC)  # Thursday 09:00
    for _ in range(3):
        await refunds.check_pending()
    harness.bot.worker.kick()
    await harness.fake.wait_for(
        lambda: any("still pending" in text for text in thread(harness, parent)),
        what="overdue flag in the thread",
    )
    flagged = [text for text in thread(harness, parent) if "still pending" in text]
    assert flagged == [
        f"⚠️ The refund of 75.00 USD on `{txn.id}` is still pending at the processor: it was "
        "expected to settle by Wed 2027-01-20. Check it with the processor."
    ]
    assert await flags() == 1
