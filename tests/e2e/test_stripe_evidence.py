"""Documents with a dispute response on Stripe, end to end: the Respond modal shows Stripe's own
text fields; two PDFs go to Stripe's Files API (purpose dispute_evidence) once each and into the
dispute's evidence file fields, even with the process killed between an upload and the submission.
Stripe is localstripe with the shim's disputes and Files API (tests/localstripe_disputes.py)."""

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

from bot.app import create_bot
from bot.clock import ManualClock
from bot.domain import DisputeStatus
from bot.workspace.slack_api import Message
from tests.conftest import NOTIFY, eventually, opened_modal
from tests.stripe_support import (
    API_KEY,
    LocalStripe,
    StripeHarness,
    charge,
    open_stripe_harness,
    post_webhook,
    run_localstripe,
    signed,
)

LETTER = b"%PDF-1.4\n% the engagement letter\n" + b"x" * 40_000
AUTHORIZATION = b"%PDF-1.4\n% the signed card authorization\n" + b"y" * 30_000


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
