"""The bot with PAYMENTS_BACKEND=stripe, end to end: signed Slack requests in, localstripe as
Stripe (tests/localstripe_shim.py), Stripe's webhooks at /webhooks/stripe.
Documents with a dispute response: Stripe's own text fields in the Respond modal, two PDFs to
Stripe's Files API (purpose dispute_evidence) once each, even with the process killed between an
upload and the submission (localstripe has neither: tests/localstripe_disputes.py adds them)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import create_bot
from bot.clock import ManualClock
from bot.db.models import AuditEntry, Job, ProcessorEventRow, RefundRequest
from bot.domain import DisputeStatus, RefundState
from bot.processors.stripe.mapping import IDEMPOTENCY_KEY
from bot.workspace.slack_api import Message
from tests.conftest import APPROVALS, NOTIFY, eventually, opened_modal
from tests.stripe_support import (
    API_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
    StripeHarness,
    charge,
    open_stripe_harness,
    payment_intent,
    post_webhook,
    refunds_of,
    run_localstripe,
    signed,
    stripe_proxy,
)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalStripe]:
    with run_localstripe() as running:
        yield running


@pytest.fixture
async def harness(
    tmp_path: Path, clock: ManualClock, server: LocalStripe
) -> AsyncIterator[StripeHarness]:
    server.flush()
    async with open_stripe_harness(
        f"sqlite+aiosqlite:///{tmp_path / 'paybot.db'}", clock, server
    ) as running:
        yield running


def shown(body: dict[str, Any]) -> str:
    return json.dumps(body.get("blocks", []), ensure_ascii=False)


async def request_refund(
    harness: StripeHarness, user: str, transaction_id: str, reason: str
) -> Message:
    answer = await harness.slack.command(user, f"refund {transaction_id}")
    assert answer.status == 200
    modal = await opened_modal(harness.fake, user, "refund modal")
    submitted = await harness.slack.submit(user, modal, reason=reason)
    assert submitted.json["response_action"] == "update", submitted.json
    return await harness.fake.wait_for(
        lambda: next(iter(harness.fake.messages(APPROVALS)), None), what="approval message"
    )


async def request_row(harness: StripeHarness, transaction_id: str) -> RefundRequest:
    async with harness.store.sessions() as session:
        row = await session.scalar(
            select(RefundRequest).where(RefundRequest.transaction_id == transaction_id)
        )
    assert row is not None
    return row


async def state_is(harness: StripeHarness, transaction_id: str, state: RefundState) -> bool:
    return (await request_row(harness, transaction_id)).state == state.value


# ---------------------------------------------------------------------------------------------
# Lookups


async def test_staff_look_up_a_charge_and_a_payment_intent_by_exact_id(
    harness: StripeHarness,
) -> None:
    staff = await harness.user("sam", "staff")
    made = await charge(harness.stripe, 12550, matter="MAT-1001", account="operating")
    intent = await payment_intent(harness.stripe, 30000, matter="MAT-2040", account="trust")

    started = time.perf_counter()
    body = (await harness.slack.command(staff, f"lookup {made.id}")).json
    elapsed = time.perf_counter() - started
    for expected in (made.id, "125.50 USD", "Visa •••• 4242", "MAT-1001", "Operating", "Succeeded"):
        assert expected in shown(body), expected
    assert "refund_open" in shown(body)
    assert elapsed < 3, f"answered in {elapsed:.2f}s"

    body = (await harness.slack.command(staff, f"lookup {intent.id}")).json
    for expected in (intent.id, "300.00 USD", "Visa •••• 4242", "MAT-2040", "Trust"):
        assert expected in shown(body), expected

    body = (await harness.slack.command(staff, f"lookup {made.id[:-2]}")).json
    assert "No transaction has exactly" in json.dumps(body), "a partial id is never matched"


async def test_an_uncaptured_charge_offers_no_refund(harness: StripeHarness) -> None:
    staff = await harness.user("sam", "staff")
    made = await charge(harness.stripe, 4000, capture=False)
    body = (await harness.slack.command(staff, f"lookup {made.id}")).json
    assert "never captured" in shown(body) and "refund_open" not in shown(body)


# ---------------------------------------------------------------------------------------------
# Refunds


async def test_a_refund_requested_and_approved_is_made_once_at_stripe_with_our_key_and_metadata(
    harness: StripeHarness,
) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    made = await charge(harness.stripe, 25000, matter="MAT-1001")
    parent = await request_refund(harness, staff, made.id, "Client paid twice")
    await harness.slack.block_action(manager, "refund_approve", message=parent)
    await eventually(lambda: state_is(harness, made.id, RefundState.SUCCEEDED), what="refunded")

    row = await request_row(harness, made.id)
    (refund,) = await refunds_of(harness.stripe, made.id)
    assert refund["id"] == row.processor_refund_id and refund["amount"] == 25000
    assert refund["metadata"] == {
        "paybot_request": row.id,
        "reason": "Client paid twice",
        "approver": "meg",
        IDEMPOTENCY_KEY: row.idempotency_key,
    }
    dm = await harness.fake.wait_for(lambda: harness.fake.messages(staff), what="DM to requester")
    assert made.id in dm[-1].text

    body = (await harness.slack.command(staff, f"lookup {made.id}")).json
    assert refund["id"] in json.dumps(body) and "refund_open" not in shown(body)


async def test_twenty_concurrent_approvals_make_one_refund_at_stripe(
    harness: StripeHarness,
) -> None:
    """localstripe honours no idempotency key: the state machine and the adapter must hold."""
    staff = await harness.user("sam", "staff")
    managers = [await harness.user(f"boss{i}", "manager") for i in range(4)]
    made = await charge(harness.stripe, 25000)
    parent = await request_refund(harness, staff, made.id, "Duplicate payment")
    clicks = [
        harness.slack.block_action(managers[i % 4], "refund_approve", message=parent)
        for i in range(20)
    ]
    replies = await asyncio.gather(*clicks)
    assert all(r.status == 200 for r in replies)
    await eventually(lambda: state_is(harness, made.id, RefundState.SUCCEEDED), what="refunded")
    await harness.cycle()
    await asyncio.sleep(0.3)
    refunds = await refunds_of(harness.stripe, made.id)
    assert len(refunds) == 1 and refunds[0]["amount"] == 25000
    async with harness.store.sessions() as session:
        approvals = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "approve_refund", AuditEntry.outcome == "done"
                )
            )
        ).all()
    assert len(approvals) == 1


async def test_a_refund_made_in_the_dashboard_meanwhile_fails_the_request_with_stripes_reason(
    harness: StripeHarness,
) -> None:
    """The request was approved; before the worker ran, someone refunded in Stripe's Dashboard.
    The adapter finds no refund carrying our key and the charge refunded: a final, audited no."""
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    made = await charge(harness.stripe, 8000)
    parent = await request_refund(harness, staff, made.id, "Cancelled engagement")
    await harness.bot.worker.stop(timeout=5)
    await harness.slack.block_action(manager, "refund_approve", message=parent)
    # Approval reads the charge at localstripe, which pickles its whole store on every write:
    # late in a full run that store is large, so this wait is longer than the default.
    await eventually(
        lambda: state_is(harness, made.id, RefundState.APPROVED), what="approved", timeout=40
    )
    await harness.stripe.v1.refunds.create_async({"charge": made.id})  # the Dashboard's refund

    restarted = await create_bot(harness.bot.settings, clock=harness.clock, store=harness.store)
    await restarted.worker.run_ready()  # a fresh worker: the stopped one takes no more jobs
    await restarted.worker.stop()
    await restarted.http.close()
    row = await request_row(harness, made.id)
    assert row.state == RefundState.FAILED.value
    assert "already been refunded at Stripe" in (row.failure_reason or "")
    assert len(await refunds_of(harness.stripe, made.id)) == 1
    async with harness.store.sessions() as session:
        failed = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "refund_failed", AuditEntry.target_id == row.id
            )
        )
    assert failed is not None and "already been refunded at Stripe" in (failed.reason or "")


async def test_a_refund_whose_answer_was_lost_is_retried_with_the_same_key_and_made_once(
    tmp_path: Path, clock: ManualClock, server: LocalStripe
) -> None:
    """Stripe made the refund, the answer never came back: the job fails as retryable, runs
    again with the same key, and the adapter finds the refund instead of making another."""
    server.flush()
    async with (
        stripe_proxy(server.url) as proxy,
        open_stripe_harness(
            f"sqlite+aiosqlite:///{tmp_path / 'lost.db'}", clock, server, api_base=proxy.url
        ) as harness,
    ):
        staff = await harness.user("sam", "staff")
        manager = await harness.user("meg", "manager")
        made = await charge(harness.stripe, 9900)
        parent = await request_refund(harness, staff, made.id, "Overpaid invoice")
        proxy.drop_refunds = 1
        await harness.slack.block_action(manager, "refund_approve", message=parent)

        async def retry_recorded() -> str | None:
            async with harness.store.sessions() as session:
                return await session.scalar(
                    select(Job.last_error).where(
                        Job.kind == "refund.execute", Job.state == "queued"
                    )
                )

        error = await eventually(retry_recorded, what="the first attempt failing")
        assert "ProcessorError" in str(error) and "same idempotency key" in str(error)
        assert await state_is(harness, made.id, RefundState.SUBMITTING)
        assert len(await refunds_of(harness.stripe, made.id)) == 1  # made, though unanswered

        harness.clock.advance(minutes=10)  # past the job's back-off
        harness.bot.worker.kick()
        await eventually(lambda: state_is(harness, made.id, RefundState.SUCCEEDED), what="done")
        row = await request_row(harness, made.id)
        (refund,) = await refunds_of(harness.stripe, made.id)
        assert refund["id"] == row.processor_refund_id
        assert refund["metadata"][IDEMPOTENCY_KEY] == row.idempotency_key
        assert proxy.refund_keys == [row.idempotency_key], "one creation, with our key"


# ---------------------------------------------------------------------------------------------
# Webhooks


def payout_event(event_id: str = "evt_1Q0webhook000001") -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": "payout.paid",
        "livemode": False,
        "data": {
            "object": {
                "id": "po_1Q0webhook000001",
                "object": "payout",
                "amount": 98000,
                "currency": "usd",
                "status": "paid",
                "arrival_date": int(time.time()) + 86400,
                "created": int(time.time()),
            }
        },
    }


async def stored_events(harness: StripeHarness) -> list[ProcessorEventRow]:
    async with harness.store.sessions() as session:
        return list(await session.scalars(select(ProcessorEventRow)))


async def test_a_signed_webhook_is_stored_once_and_forged_or_stale_ones_are_refused(
    harness: StripeHarness,
) -> None:
    body, headers = signed(payout_event())
    status, answer = await post_webhook(harness.url, body, headers)
    assert (status, answer) == (200, {"received": 1, "new": 1})
    status, answer = await post_webhook(harness.url, body, headers)
    assert (status, answer) == (200, {"received": 1, "new": 0})

    forged_body, forged = signed(payout_event("evt_forged"), secret="whsec_not_ours")
    status, answer = await post_webhook(harness.url, forged_body, forged)
    assert status == 400 and "signature" in answer["error"]

    stale_body, stale = signed(payout_event("evt_stale"), at=int(time.time()) - 301)
    status, answer = await post_webhook(harness.url, stale_body, stale)
    assert status == 400 and "stale" in answer["error"]

    tampered = body.replace(b"98000", b"99000")
    status, _ = await post_webhook(harness.url, tampered, headers)
    assert status == 400

    rows = await stored_events(harness)
    assert [(r.event_id, r.type, r.object_id, r.source) for r in rows] == [
        ("evt_1Q0webhook000001", "withdrawal.paid", "po_1Q0webhook000001", "webhook")
    ]


async def test_localstripes_own_signed_delivery_reaches_the_bot(harness: StripeHarness) -> None:
    """localstripe signs as Stripe does; with the poller stopped, only the webhook can bring it."""
    await harness.bot.worker.stop(timeout=5)
    harness.localstripe.register_webhook(
        f"{harness.url}/webhooks/stripe", WEBHOOK_SECRET, ["payout.paid"]
    )
    payout = await harness.stripe.v1.payouts.create_async(
        {"amount": 1500, "currency": "eur", "status": "paid"}
    )

    async def delivered() -> list[ProcessorEventRow]:
        return [r for r in await stored_events(harness) if r.object_id == payout.id]

    (row,) = await eventually(delivered, timeout=10, what="webhook from localstripe")  # type: ignore[misc]
    assert (row.type, row.source) == ("withdrawal.paid", "webhook")
    await harness.bot.store.services.events.poll()
    assert len(await delivered()) == 1, "the poller sees the same event and keeps it once"


LETTER = b"%PDF-1.4\n% the engagement letter\n" + b"x" * 40_000
AUTHORIZATION = b"%PDF-1.4\n% the signed card authorization\n" + b"y" * 30_000


async def shim(server: LocalStripe, method: str, path: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with http.request(method, server.url + path, json=body, headers=headers) as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()


async def announced_dispute(harness: StripeHarness) -> tuple[dict[str, Any], Message]:
    paid = await charge(harness.stripe, 30000, matter="MAT-2001")
    due = harness.clock() + timedelta(days=10)
    dispute = await shim(
        harness.localstripe,
        "POST",
        "/_config/disputes",
        {"charge": paid.id, "amount": 30000, "due_by": int(due.timestamp())},
    )
    event = {
        "id": "evt_1Q0dispute0000001",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": "charge.dispute.created",
        "livemode": False,
        "data": {"object": dispute},
    }
    status, _ = await post_webhook(harness.url, *signed(event))
    assert status == 200

    async def posted() -> Message | None:
        await harness.bot.worker.run_ready()
        await harness.bot.worker.run_periodic()
        return next(
            (m for m in harness.fake.messages(NOTIFY) if dispute["id"] in json.dumps(m.blocks)),
            None,
        )

    parent = await eventually(posted, what="the dispute announced")
    assert isinstance(parent, Message)
    return dispute, parent


async def test_two_pdfs_reach_stripe_once_each_across_a_crash(harness: StripeHarness) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    dispute, parent = await announced_dispute(harness)

    await harness.slack.block_action(staff, "dispute_respond", message=parent)
    modal = await opened_modal(harness.fake, staff, "response modal")
    blocks = {b.get("block_id"): b for b in modal["blocks"]}
    assert {"refund_refusal_explanation", "customer_name"} <= blocks.keys(), "Stripe's fields"
    assert blocks["documents"]["element"]["max_files"] == 6
    assert "engagement letter" in blocks["documents"]["hint"]["text"]
    files = [
        harness.fake.user_file(staff, "engagement-letter.pdf", LETTER),
        harness.fake.user_file(staff, "card-authorization.pdf", AUTHORIZATION),
    ]
    answer = await harness.slack.submit(
        staff,
        modal,
        summary="The client signed the engagement letter and the card authorization",
        product_description="Legal advice, 3 hours",
        customer_name="Dana Client",
        documents=files,
    )
    assert answer.json["response_action"] == "update", answer.json

    async def draft() -> Message | None:
        await harness.bot.worker.run_ready()
        await harness.bot.worker.run_periodic()
        replies = harness.fake.messages(NOTIFY, thread_ts=parent.ts)
        return next(
            (m for m in replies if "dispute_response_approve" in json.dumps(m.blocks)), None
        )

    drafted = await eventually(draft, what="the draft in the thread")
    assert isinstance(drafted, Message)

    gateway = harness.store.services.gateway
    real_upload = gateway.upload_dispute_document
    crashed = asyncio.Event()
    made: list[str] = []

    async def upload_then_die(*args: Any, **kwargs: Any) -> str:
        made.append(await real_upload(*args, **kwargs))
        if len(made) == 2:
            crashed.set()
            await asyncio.sleep(3600)  # the answer never arrives: the process is "dead"
        return made[-1]

    gateway.upload_dispute_document = upload_then_die  # type: ignore[method-assign]
    await harness.slack.block_action(manager, "dispute_response_approve", message=drafted)
    await asyncio.wait_for(crashed.wait(), 10)
    await harness.bot.worker.stop(timeout=0)
    gateway.upload_dispute_document = real_upload  # type: ignore[method-assign]
    before = await shim(harness.localstripe, "GET", f"/v1/disputes/{dispute['id']}")
    assert before["status"] == "needs_response", "killed between the uploads and the submission"

    harness.clock.advance(minutes=2)  # past the lease
    restarted = await create_bot(harness.bot.settings, clock=harness.clock, store=harness.store)
    try:
        await restarted.worker.run_ready()
    finally:
        await restarted.http.close()
        await restarted.worker.stop()

    uploads = await shim(harness.localstripe, "GET", "/_config/files")
    assert [u["filename"] for u in uploads] == ["engagement-letter.pdf", "card-authorization.pdf"]
    assert all(u["purpose"] == "dispute_evidence" for u in uploads)
    assert [u["size"] for u in uploads] == [len(LETTER), len(AUTHORIZATION)]
    after = await shim(harness.localstripe, "GET", f"/v1/disputes/{dispute['id']}")
    assert after["status"] == "under_review"
    assert after["evidence_details"]["submission_count"] == 1
    evidence = after["evidence"]
    assert evidence["service_documentation"] == uploads[0]["id"]
    assert evidence["customer_signature"] == uploads[1]["id"]
    assert evidence["customer_name"] == "Dana Client"
    found = await gateway.get_dispute(dispute["id"])
    assert found is not None and found.status is DisputeStatus.UNDER_REVIEW
