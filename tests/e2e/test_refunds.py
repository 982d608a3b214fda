"""Refunds end to end: modal, request, four-eyes approval, exactly-once execution, notifications."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select, update

from bot.app import create_bot
from bot.db.models import AuditEntry, OutboxMessage, RefundRequest
from bot.domain import Account, MethodType, PaymentKind, RefundState
from bot.ids import NoticeKind
from bot.workspace.slack_api import Message
from tests.conftest import APPROVALS, Harness, eventually, opened_modal


async def open_refund_modal(harness: Harness, user: str, transaction_id: str) -> dict:
    answer = await harness.slack.command(user, f"refund {transaction_id}")
    assert answer.status == 200
    return await opened_modal(harness.fake, user, "refund modal")


async def request_refund(harness: Harness, user: str, transaction_id: str, reason: str) -> Message:
    modal = await open_refund_modal(harness, user, transaction_id)
    answer = await harness.slack.submit(user, modal, reason=reason)
    assert answer.json["response_action"] == "update", answer.json
    return await harness.fake.wait_for(
        lambda: next(iter(harness.fake.messages(APPROVALS)), None), what="approval message"
    )


async def request_row(harness: Harness, transaction_id: str) -> RefundRequest:
    async with harness.store.sessions() as session:
        row = await session.scalar(
            select(RefundRequest).where(RefundRequest.transaction_id == transaction_id)
        )
    assert row is not None
    return row


async def state_is(harness: Harness, transaction_id: str, state: RefundState) -> bool:
    return (await request_row(harness, transaction_id)).state == state.value


def thread(harness: Harness, parent: Message) -> list[str]:
    return [m.text for m in harness.fake.messages(APPROVALS, thread_ts=parent.ts)]


async def test_modal_shows_details_items_rules_and_trust_steps(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge("300.00", account=Account.TRUST)
    modal = await open_refund_modal(harness, staff, txn.id)
    shown = json.dumps(modal)
    for expected in (
        "300.00 USD",
        "Full refunds only",
        "operating",
        "1-2 business days",
        "practice-management",
        "Trust payment: extra steps",
        txn.id,
    ):
        assert expected in shown, expected
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["reason"], "only a reason: no amount can be typed"


@pytest.mark.parametrize("reason", ["   ", "x" * 501])
async def test_empty_and_over_long_reasons_are_field_errors(harness: Harness, reason: str) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge()
    modal = await open_refund_modal(harness, staff, txn.id)
    state = {"reason": {"value": {"type": "plain_text_input", "value": reason}}}
    answer = await harness.slack.view_submission(staff, modal, state)
    assert answer.json["response_action"] == "errors"
    assert "reason" in answer.json["errors"]
    assert harness.fake.messages(APPROVALS) == []


async def refused_with(harness: Harness, user: str, transaction_id: str) -> str:
    """The modal opens at once (loading) and shows the processor's refusal instead of a form."""
    await harness.slack.command(user, f"refund {transaction_id}")
    modal = await harness.fake.wait_for(
        lambda: (m := harness.fake.top_modal(user)) and "Looking it up" not in json.dumps(m) and m,
        what="the refusal in the modal",
    )
    assert not modal.get("callback_id") and not modal.get("submit"), modal
    harness.fake.close_view(user, modal["id"])
    return json.dumps(modal["blocks"])


async def test_each_refusal_has_a_clear_reason(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    auth = await harness.charge("10.00", kind=PaymentKind.AUTHORIZATION, captured=False)
    assert "never captured" in await refused_with(harness, staff, auth.id)

    returned = await harness.charge("20.00", method=MethodType.ACH, brand=None, last4="1111")
    await harness.sandbox.return_payment(returned.id, "R01")
    assert "returned" in await refused_with(harness, staff, returned.id)

    disputed = await harness.charge("30.00")
    await harness.sandbox.dispute(disputed.id)
    assert "under dispute" in await refused_with(harness, staff, disputed.id)

    refunded = await harness.charge("40.00")
    refund = await harness.store.services.gateway.refund(
        refunded.id, idempotency_key="k1", metadata={}
    )
    assert "pending" in await refused_with(harness, staff, refunded.id)
    assert "refund cannot be refunded" in await refused_with(harness, staff, refund.id)

    await harness.sandbox.settle()
    assert "already been refunded" in await refused_with(harness, staff, refunded.id)


async def test_requester_cannot_approve_their_own_refund(harness: Harness) -> None:
    manager = await harness.user("meg", "manager")
    txn = await harness.charge()
    parent = await request_refund(harness, manager, txn.id, "Client overpaid")
    await harness.slack.block_action(manager, "refund_approve", message=parent)
    await harness.fake.wait_for(
        lambda: any("four eyes" in json.dumps(body) for _, body in harness.fake.responses),
        what="four-eyes refusal",
    )
    assert await state_is(harness, txn.id, RefundState.REQUESTED)
    async with harness.store.sessions() as session:
        denial = await session.scalar(select(AuditEntry).where(AuditEntry.outcome == "denied"))
    assert denial is not None and denial.actor_username == "meg"


async def test_twenty_concurrent_approvals_make_one_refund(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    managers = [await harness.user(f"boss{i}", "manager") for i in range(4)]
    txn = await harness.charge("250.00")
    parent = await request_refund(harness, staff, txn.id, "Duplicate payment")
    clicks = [
        harness.slack.block_action(managers[i % 4], "refund_approve", message=parent)
        for i in range(20)
    ]
    replies = await asyncio.gather(*clicks)
    assert all(r.status == 200 for r in replies)
    await eventually(lambda: state_is(harness, txn.id, RefundState.PENDING), what="refund pending")
    await asyncio.sleep(0.3)
    record = await harness.sandbox.show(txn.id)
    assert len(record["refunds"]) == 1
    assert record["refunds"][0]["amount_minor"] == 25000


async def test_a_crash_after_approval_then_a_restart_makes_one_refund(harness: Harness) -> None:
    """The process dies after the processor made the refund but before the bot heard back."""
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    txn = await harness.charge("99.00")
    parent = await request_refund(harness, staff, txn.id, "Cancelled engagement")

    gateway = harness.store.services.gateway
    real_refund = gateway.refund
    crashed = asyncio.Event()

    async def refund_then_die(*args: object, **kwargs: object) -> object:
        await real_refund(*args, **kwargs)  # type: ignore[arg-type]
        crashed.set()
        await asyncio.sleep(3600)  # the answer never arrives: the process is "dead"
        raise AssertionError("unreachable")

    gateway.refund = refund_then_die  # type: ignore[method-assign]
    await harness.slack.block_action(manager, "refund_approve", message=parent)
    await asyncio.wait_for(crashed.wait(), 10)
    await harness.bot.worker.stop(
        timeout=0
    )  # the dead process: its job stays claimed, lease running
    gateway.refund = real_refund  # type: ignore[method-assign]
    assert await state_is(harness, txn.id, RefundState.SUBMITTING)

    harness.clock.advance(minutes=2)  # past the lease
    restarted = await create_bot(harness.bot.settings, clock=harness.clock, store=harness.store)
    await restarted.worker.run_ready()
    assert await state_is(harness, txn.id, RefundState.PENDING)
    record = await harness.sandbox.show(txn.id)
    assert len(record["refunds"]) == 1
    await restarted.http.close()
    await restarted.worker.stop()


async def test_matter_users_are_told_with_the_reason_and_missing_ones_named(
    harness: Harness,
) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    harness.fake.add_user("ULAW", name="lawyer", email="lawyer@firm.com")
    harness.fake.add_user("UPARA", name="para", email="para@firm.com")
    await harness.store.services.matters.put(
        "MAT-1001", "Smith v Jones", ["lawyer@firm.com", "para@firm.com", "ghost@firm.com"]
    )
    txn = await harness.charge("75.00", matter_id="MAT-1001", account=Account.TRUST)
    parent = await request_refund(harness, staff, txn.id, "Fee <!channel> & costs > estimate")
    await harness.slack.block_action(manager, "refund_approve", message=parent)

    for user in ("ULAW", "UPARA", staff):
        dms = await harness.fake.wait_for(
            lambda u=user: harness.fake.messages(u), what=f"DM to {user}"
        )
        assert "submitted" in dms[-1].text and txn.id in dms[-1].text
        assert "&lt;!channel&gt;" in dms[-1].text and "<!channel>" not in dms[-1].text
    await harness.fake.wait_for(
        lambda: any("ghost@firm.com" in t for t in thread(harness, parent)),
        what="missing member named",
    )

    await harness.sandbox.settle()
    await harness.store.services.refunds.check_pending()
    harness.bot.worker.kick()
    await eventually(lambda: state_is(harness, txn.id, RefundState.SUCCEEDED), what="settled")
    await harness.fake.wait_for(
        lambda: len([m for m in harness.fake.messages("ULAW") if "settled" in m.text]) == 1,
        what="settled DM",
    )
    await harness.fake.wait_for(
        lambda: thread(harness, parent) and "Bookkeeping checklist" in thread(harness, parent)[-1],
        what="checklist last",
    )
    (checklist,) = [
        m for m in harness.fake.messages(APPROVALS, thread_ts=parent.ts) if m.blocks is not None
    ]
    steps = json.dumps(checklist.blocks, ensure_ascii=False)
    assert "Reverse the invoice payment of 75.00 USD on matter MAT-1001" in steps
    assert "*Trust → Make Payment*" in steps and "Online Refund" in steps
    assert "a firm deposit of 75.00 USD into the operating account" in steps
    assert "The bank transfer of 75.00 USD from trust to operating" in steps
    (boxes,) = [b["accessory"] for b in checklist.blocks if "accessory" in b]
    assert boxes["type"] == "checkboxes" and boxes["action_id"] == "checklist_tick"
    assert [o["value"] for o in boxes["options"]] == [
        "reverse_invoice",
        "trust_payment",
        "firm_deposit",
        "bank_transfer",
    ]
    assert "initial_options" not in boxes  # nothing ticked yet
    settled_parent = harness.fake.message(APPROVALS, parent.ts)
    assert "Refunded" in json.dumps(settled_parent.blocks)


async def test_reason_with_mentions_reaches_slack_escaped(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    txn = await harness.charge()
    parent = await request_refund(harness, staff, txn.id, "<!channel> <@U123> & <https://x.test|y>")
    shown = json.dumps(parent.blocks)
    assert "<!channel>" not in shown and "<@U123>" not in shown
    assert "&lt;!channel&gt;" in shown and "&amp;" in shown


async def test_reject_asks_for_a_reason_and_tells_the_requester(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    txn = await harness.charge()
    parent = await request_refund(harness, staff, txn.id, "Please refund")
    await harness.slack.block_action(manager, "refund_reject", message=parent)
    modal = await opened_modal(harness.fake, manager, "reject modal")
    answer = await harness.slack.submit(manager, modal, reason="Not eligible under the engagement")
    assert answer.status == 200
    await eventually(lambda: state_is(harness, txn.id, RefundState.REJECTED), what="rejected")
    dm = await harness.fake.wait_for(lambda: harness.fake.messages(staff), what="DM to requester")
    assert "Not eligible" in dm[-1].text
    assert (await harness.sandbox.show(txn.id))["refunds"] == []


async def test_an_approval_message_posted_before_a_crash_is_found_and_recorded_not_posted_again(
    harness: Harness,
) -> None:
    """A process posted the approval message and died before recording where it is: the takeover
    finds the post by the outbox key in its metadata, records its place, and the request's news
    goes in its thread."""
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    txn = await harness.charge()
    parent = await request_refund(harness, staff, txn.id, "Duplicate charge")
    await eventually(
        lambda: _approval_at(harness, txn.id, parent.ts), what="the approval message recorded"
    )
    async with harness.store.sessions.begin() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == NoticeKind.REFUND_REQUEST)
            .values(
                state="pending", slack_ts=None, thread_ts=None, lease_owner=None, lease_until=None
            )
        )
        await session.execute(update(RefundRequest).values(approval_channel=None, approval_ts=None))

    await harness.cycle()
    assert len(harness.fake.messages(APPROVALS)) == 1, "not posted again"
    assert await _approval_at(harness, txn.id, parent.ts)
    await harness.slack.block_action(manager, "refund_approve", message=parent)

    async def approved() -> bool:
        await harness.cycle()  # the background worker may be slow on a loaded machine
        return any("Approved by" in t for t in thread(harness, parent))

    try:
        await eventually(approved, timeout=20, what="approved reply")
    except AssertionError as failed:
        told = [body.get("text") for _, body in harness.fake.responses]
        raise AssertionError(f"{failed}; the clickers were told {told}") from failed


async def _approval_at(harness: Harness, transaction_id: str, ts: str) -> bool:
    row = await request_row(harness, transaction_id)
    return (row.approval_channel, row.approval_ts) == (APPROVALS, ts)
