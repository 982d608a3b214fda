"""`/pay disputes`, `/pay returns` and `/pay withdrawals` end to end."""

from __future__ import annotations

import json
import re

from bot.domain import MethodType
from bot.nacha import describe_return
from tests.conftest import Harness
from tests.e2e.test_history import buttons, click, row_ids


def texts(blocks: list[dict]) -> list[str]:
    """The mrkdwn of each section, in order."""
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and b.get("text")]


async def test_disputes_soonest_deadline_first_with_days_left(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    first = await harness.charge("100.00")
    second = await harness.charge("200.00")
    third = await harness.charge("300.00")
    closed = await harness.charge("400.00")
    await harness.sandbox.dispute(second.id, "fraud")  # respond by day 10
    harness.clock.advance(days=3)
    await harness.sandbox.dispute(third.id, "duplicate")  # day 13
    won = await harness.sandbox.dispute(closed.id)
    await harness.sandbox.resolve_dispute(won.id, won=True)
    harness.clock.advance(days=1)
    await harness.sandbox.dispute(first.id, "not_received")  # day 14
    harness.clock.advance(days=1)  # now day 5

    answer = await harness.slack.command(viewer, "disputes")
    assert answer.json["response_type"] == "ephemeral"
    blocks = answer.json["blocks"]
    assert row_ids(blocks) == [second.id, third.id, first.id]
    lines = texts(blocks)
    assert "5 days left" in lines[0] and "200.00 USD" in lines[0] and "Other Fraud" in lines[0]
    assert "8 days left" in lines[1] and "Duplicate Processing" in lines[1]
    assert "9 days left" in lines[2]

    everything = (await harness.slack.command(viewer, "disputes all")).json["blocks"]
    assert closed.id in row_ids(everything) and "Won" in json.dumps(everything)
    wrong = await harness.slack.command(viewer, "disputes closed")
    assert "disputes all" in wrong.json["text"]


async def test_overdue_dispute_says_so(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    txn = await harness.charge()
    await harness.sandbox.dispute(txn.id)
    harness.clock.advance(days=12)
    line = texts((await harness.slack.command(viewer, "disputes")).json["blocks"])[0]
    assert "2 days overdue" in line


async def test_disputes_page_by_ten(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    for _ in range(12):
        await harness.sandbox.dispute((await harness.charge()).id)
        harness.clock.advance(hours=1)
    first = (await harness.slack.command(viewer, "disputes")).json
    second = await click(harness, viewer, "dispute_list_next", first)
    assert len(row_ids(first["blocks"])) == 10 and len(row_ids(second["blocks"])) == 2
    assert not set(row_ids(first["blocks"])) & set(row_ids(second["blocks"]))
    back = await click(harness, viewer, "dispute_list_previous", second)
    assert row_ids(back["blocks"]) == row_ids(first["blocks"])


async def test_returns_with_code_and_meaning(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    ach = {"method": MethodType.ACH, "brand": None, "last4": "6789"}
    broke = await harness.charge("80.00", **ach)
    revoked = await harness.charge("90.00", **ach)
    await harness.sandbox.return_payment(broke.id, "R01")
    harness.clock.advance(hours=2)
    await harness.sandbox.return_payment(revoked.id, "r7")

    blocks = (await harness.slack.command(viewer, "returns")).json["blocks"]
    assert row_ids(blocks) == [revoked.id, broke.id]
    newest, oldest = texts(blocks)
    assert "R07" in newest and describe_return("R07") in newest and "90.00 USD" in newest
    assert "R01" in oldest and "Insufficient funds" in oldest


async def test_withdrawals_with_balance_and_expandable_payments(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    paid = [await harness.charge(f"{amount}.00") for amount in (100, 250)]
    harness.clock.advance(days=1)
    settled = await harness.sandbox.settle()
    assert settled.withdrawal is not None
    later = await harness.charge("40.00")

    listing = (await harness.slack.command(viewer, "withdrawals")).json
    shown = json.dumps(listing["blocks"], ensure_ascii=False)
    assert "Available" in shown and "40.00 USD" in shown  # the next withdrawal's
    assert "350.00 USD" in shown and "2 payments" in shown
    assert paid[0].id not in shown

    opened = await click(harness, viewer, "withdrawal_payments", listing)
    expanded = json.dumps(opened["blocks"], ensure_ascii=False)
    assert all(txn.id in expanded for txn in paid) and later.id not in expanded
    assert "Hide payments" in expanded
    closed = await click(harness, viewer, "withdrawal_payments", opened)
    assert paid[0].id not in json.dumps(closed["blocks"])
    assert "withdrawals_next" not in buttons(closed["blocks"])


async def test_an_old_button_is_answered_not_crashed(harness: Harness) -> None:
    viewer = await harness.user("vic", "viewer")
    await harness.slack.block_action(
        viewer, "returns_next", value="not json", channel_id="C0GENERAL"
    )
    await harness.fake.wait_for(
        lambda: any("older message" in json.dumps(body) for _, body in harness.fake.responses),
        what="stale-button answer",
    )
    assert not any(
        re.search("reference [0-9a-f]{8}", json.dumps(b)) for _, b in harness.fake.responses
    )
