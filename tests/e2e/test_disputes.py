"""Chargebacks and returns pushed to Slack once each; dispute responses with four eyes; reminders."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import create_bot
from bot.db.models import ProcessorEventRow
from bot.domain import DisputeStatus, EventType, MethodType
from bot.processors.sandbox.webhooks import encode
from bot.workspace.slack_api import Message
from tests.conftest import NOTIFY, WEBHOOK_SECRET, Harness, eventually, opened_modal


def notify_messages(harness: Harness) -> list[Message]:
    return harness.fake.messages(NOTIFY)


def everything_in(harness: Harness) -> str:
    """Every message in the notify channel and its threads, as text."""
    parts = []
    for message in notify_messages(harness):
        parts.append(message.text + json.dumps(message.blocks or [], ensure_ascii=False))
        for reply in harness.fake.messages(NOTIFY, thread_ts=message.ts):
            parts.append(reply.text + json.dumps(reply.blocks or [], ensure_ascii=False))
    return "\n".join(parts)


async def announced(harness: Harness, text: str, count: int = 1) -> None:
    async def check() -> bool:
        await harness.cycle()
        return everything_in(harness).count(text) >= count

    await eventually(check, what=f"{text!r} announced")


async def event_rows(harness: Harness) -> int:
    async with harness.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessorEventRow)) or 0)


async def test_a_dispute_is_announced_once_with_everything_needed(harness: Harness) -> None:
    txn = await harness.charge("410.00", matter_id="MAT-1001")
    dispute = await harness.sandbox.dispute(
        txn.id, reason="Merchandise/Services Not Received", network_code="13.1"
    )
    await announced(harness, f"Chargeback {dispute.id}")
    [message] = notify_messages(harness)
    shown = json.dumps(message.blocks, ensure_ascii=False)
    for expected in (
        "410.00 USD",
        txn.id,
        "MAT-1001",
        "Not Received",
        "13.1",
        "days left",
        "dispute_respond",
        "dispute_accept",
        "cannot be undone",
    ):
        assert expected in shown, expected

    await harness.cycle()
    await harness.bot.worker.stop(timeout=1)
    restarted = await create_bot(harness.bot.settings, clock=harness.clock, store=harness.store)
    await restarted.worker.run_periodic()
    await restarted.worker.run_ready()
    await restarted.http.close()
    assert len(notify_messages(harness)) == 1, "a restart must not repeat a notification"


async def test_a_return_shows_its_code_and_meaning(harness: Harness) -> None:
    txn = await harness.charge(
        "55.00", method=MethodType.ACH, brand=None, last4="9876", matter_id="MAT-1002"
    )
    await harness.sandbox.return_payment(txn.id, "R02")
    await announced(harness, "R02")
    shown = everything_in(harness)
    assert "Account closed" in shown or "account closed" in shown.lower()
    assert "55.00 USD" in shown and txn.id in shown and "MAT-1002" in shown


async def test_webhook_and_poller_seeing_the_same_event_announce_it_once(harness: Harness) -> None:
    txn = await harness.charge()
    dispute = await harness.sandbox.dispute(txn.id)
    feed = await harness.store.services.gateway.events(None, 100)
    body, headers = encode(feed.events, WEBHOOK_SECRET, harness.clock())
    async with aiohttp.ClientSession() as http:
        for _ in range(2):  # the processor retries its webhook too
            async with http.post(
                f"{harness.url}/webhooks/sandbox", data=body, headers=headers
            ) as answer:
                assert answer.status == 200
    await harness.store.services.events.poll()
    await announced(harness, f"Chargeback {dispute.id}")
    await harness.cycle()
    assert everything_in(harness).count(f"Chargeback {dispute.id}") == 1
    assert await event_rows(harness) == len(feed.events)


@pytest.mark.parametrize("tamper", ["forged", "stale", "unsigned", "malformed"])
async def test_a_bad_webhook_gets_400_and_stores_nothing(harness: Harness, tamper: str) -> None:
    await harness.bot.worker.stop(timeout=1)  # no poller: only the webhook could store anything
    txn = await harness.charge()
    await harness.sandbox.dispute(txn.id)
    feed = await harness.store.services.gateway.events(None, 100)
    secret = "not-the-secret" if tamper == "forged" else WEBHOOK_SECRET
    when = harness.clock() - timedelta(minutes=10) if tamper == "stale" else harness.clock()
    body, headers = encode(feed.events, secret, when)
    if tamper == "unsigned":
        headers = {"Content-Type": "application/json"}
    if tamper == "malformed":
        body, headers = encode((), WEBHOOK_SECRET, when)
        body = b"{not json"
        headers = encode((), WEBHOOK_SECRET, when)[1]
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{harness.url}/webhooks/sandbox", data=body, headers=headers
        ) as answer:
            assert answer.status == 400
        async with http.post(
            f"{harness.url}/webhooks/stripe", data=body, headers=headers
        ) as answer:
            assert answer.status == 404
    assert await event_rows(harness) == 0


async def test_a_burst_of_200_over_a_rate_limited_slack_arrives_once_each_as_digests(
    harness: Harness,
) -> None:
    await harness.bot.worker.stop(timeout=1)
    ids = []
    for i in range(200):
        if i % 4 == 3:
            txn = await harness.charge("20.00", method=MethodType.ACH, brand=None, last4="4321")
            ids.append((await harness.sandbox.return_payment(txn.id, "R01")).id)
        else:
            txn = await harness.charge(f"{100 + i}.00")
            ids.append((await harness.sandbox.dispute(txn.id)).id)
    harness.fake.fail_next("chat.postMessage", times=3, retry_after=1)
    bot = await create_bot(harness.bot.settings, clock=harness.clock, store=harness.store)
    try:
        for _ in range(5):
            await bot.worker.run_periodic()
    finally:
        await bot.http.close()
    shown = everything_in(harness)
    disputes = [i for i in ids if i.startswith("dp_")]
    assert all(shown.count(f"Chargeback {d}") == 1 for d in disputes), "each dispute exactly once"
    assert shown.count("R01") >= 50
    posted = len(notify_messages(harness)) + sum(
        len(harness.fake.messages(NOTIFY, thread_ts=m.ts)) for m in notify_messages(harness)
    )
    assert posted <= 20, f"{posted} messages for 200 events: a digest, not a flood"
    assert harness.fake.rate_limited >= 3


async def respond_to(harness: Harness, user: str, dispute_message: Message) -> Message:
    await harness.slack.block_action(user, "dispute_respond", message=dispute_message)
    modal = await opened_modal(harness.fake, user, "response modal")
    answer = await harness.slack.submit(
        user,
        modal,
        summary="Services were delivered as agreed",
        product_description="Legal advice, 3 hours",
    )
    assert answer.json["response_action"] == "update", answer.json

    async def draft() -> Message | None:
        await harness.cycle()
        replies = harness.fake.messages(NOTIFY, thread_ts=dispute_message.ts)
        return next(
            (m for m in replies if "dispute_response_approve" in json.dumps(m.blocks or [])), None
        )

    found = await eventually(draft, what="draft in the thread")
    assert isinstance(found, Message)
    return found


async def test_dispute_response_with_four_eyes_submitted_once_for_twenty_approvals(
    harness: Harness,
) -> None:
    staff = await harness.user("sam", "staff")
    drafter = await harness.user("meg", "manager")
    managers = [await harness.user(f"boss{i}", "manager") for i in range(3)]
    txn = await harness.charge("300.00")
    dispute = await harness.sandbox.dispute(txn.id)
    await announced(harness, f"Chargeback {dispute.id}")
    [parent] = notify_messages(harness)

    modal_check = await harness.slack.block_action(staff, "dispute_respond", message=parent)
    assert modal_check.status == 200
    empty = await opened_modal(harness.fake, staff, "modal")
    answer = await harness.slack.view_submission(
        staff, empty, {"summary": {"value": {"type": "plain_text_input", "value": "  "}}}
    )
    assert answer.json["response_action"] == "errors" and {"summary", "product_description"} <= set(
        answer.json["errors"]
    )
    harness.fake.close_view(staff, empty["id"])

    draft = await respond_to(harness, drafter, parent)
    await harness.slack.block_action(drafter, "dispute_response_approve", message=draft)
    await harness.slack.block_action(staff, "dispute_response_approve", message=draft)
    clicks = [
        harness.slack.block_action(managers[i % 3], "dispute_response_approve", message=draft)
        for i in range(20)
    ]
    assert all(r.status == 200 for r in await asyncio.gather(*clicks))

    async def under_review() -> bool:
        await harness.cycle()
        found = await harness.store.services.gateway.get_dispute(dispute.id)
        return found is not None and found.status is DisputeStatus.UNDER_REVIEW

    await eventually(under_review, what="evidence submitted")
    feed = await harness.store.services.gateway.events(None, 1000)
    submissions = [
        e for e in feed.events if e.type is EventType.DISPUTE_UPDATED and e.object_id == dispute.id
    ]
    assert len(submissions) == 1, "twenty approvals, one submission"
    await announced(harness, "Under review")
    assert "four eyes" in json.dumps(harness.fake.responses)
    assert "Under review" in json.dumps(harness.fake.message(NOTIFY, parent.ts).blocks)


async def test_accept_asks_for_confirmation_and_closes_the_dispute(harness: Harness) -> None:
    manager = await harness.user("meg", "manager")
    txn = await harness.charge()
    dispute = await harness.sandbox.dispute(txn.id)
    await announced(harness, f"Chargeback {dispute.id}")
    [parent] = notify_messages(harness)
    await harness.slack.block_action(manager, "dispute_accept", message=parent)

    async def accepted() -> bool:
        await harness.cycle()
        found = await harness.store.services.gateway.get_dispute(dispute.id)
        return found is not None and found.status is DisputeStatus.ACCEPTED

    await eventually(accepted, what="accepted")
    await announced(harness, "Accepted")


async def test_reminders_fire_once_each_at_72_and_24_hours_and_when_overdue(
    harness: Harness,
) -> None:
    txn = await harness.charge()
    dispute = await harness.sandbox.dispute(txn.id)
    await announced(harness, f"Chargeback {dispute.id}")
    respond_by = dispute.respond_by

    async def replies_with(text: str) -> int:
        await harness.cycle()
        await harness.cycle()
        return everything_in(harness).count(text)

    assert await replies_with("within 72 hours") == 0
    harness.clock.now = respond_by - timedelta(hours=71)
    assert await replies_with("within 72 hours") == 1
    assert await replies_with("within 72 hours") == 1
    harness.clock.now = respond_by - timedelta(hours=23)
    assert await replies_with("within 24 hours") == 1
    await harness.bot.worker.stop(timeout=1)
    restarted = await create_bot(harness.bot.settings, clock=harness.clock, store=harness.store)
    for _ in range(2):
        await restarted.worker.run_periodic()
    assert everything_in(harness).count("within 24 hours") == 1
    harness.clock.now = respond_by + timedelta(hours=1)
    for _ in range(2):
        await restarted.worker.run_periodic()
    assert everything_in(harness).count("past its respond-by date") == 1
    assert "&lt;!channel&gt;" not in everything_in(harness) and "<!channel>" in everything_in(
        harness
    )
    await restarted.http.close()


async def test_matter_users_are_told_of_a_dispute_by_dm(harness: Harness) -> None:
    harness.fake.add_user("ULAW", name="lawyer", email="lawyer@firm.com")
    await harness.store.services.matters.put("MAT-3000", "Estate of Doe", ["lawyer@firm.com"])
    txn = await harness.charge("88.00", matter_id="MAT-3000")
    await harness.sandbox.dispute(txn.id)

    async def dm() -> list[Message]:
        await harness.cycle()
        return harness.fake.messages("ULAW")

    messages = await eventually(dm, what="DM to the matter's lawyer")
    assert (
        isinstance(messages, list)
        and "MAT-3000" in messages[0].text
        and "88.00 USD" in messages[0].text
    )
