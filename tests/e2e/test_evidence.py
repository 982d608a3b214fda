"""Documents with a dispute response, on the sandbox: picked in the Respond modal or shared in the
dispute's thread, refused beside their field when over the limits, kept with the draft, shown to
the approving manager in the thread, and sent to the processor once each, even across a crash."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_bot
from bot.domain import DisputeStatus
from bot.workspace.slack_api import Message
from tests.conftest import NOTIFY, Harness, eventually, opened_modal
from tests.e2e.test_disputes import announced, notify_messages
from tests.processes import postgres_database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path
) -> AsyncIterator[str]:
    """Every test here on SQLite and on PostgreSQL (its own database, migrated by the bot)."""
    if request.param == "sqlite":
        shutil.copyfile(migrated_template, tmp_path / "paybot.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'paybot.db'}"
        return
    async with postgres_database() as url:
        yield url


LETTER = b"%PDF-1.4\n% the engagement letter\n" + b"x" * 40_000
AUTHORIZATION = b"%PDF-1.4\n% the signed card authorization\n" + b"y" * 30_000


async def dispute_message(harness: Harness) -> tuple[str, Message]:
    txn = await harness.charge("300.00")
    dispute = await harness.sandbox.dispute(txn.id)
    await announced(harness, f"Chargeback {dispute.id}")
    [parent] = notify_messages(harness)
    return dispute.id, parent


async def respond_modal(harness: Harness, user: str, parent: Message) -> dict[str, Any]:
    answer = await harness.slack.block_action(user, "dispute_respond", message=parent)
    assert answer.status == 200
    return await opened_modal(harness.fake, user, "response modal")


def texts(**fields: str) -> dict[str, str]:
    return {
        "summary": "The client signed the engagement letter and the card authorization",
        "product_description": "Legal advice, 3 hours",
        **fields,
    }


async def draft_in_thread(harness: Harness, parent: Message) -> Message:
    async def found() -> Message | None:
        await harness.cycle()
        replies = harness.fake.messages(NOTIFY, thread_ts=parent.ts)
        return next(
            (m for m in replies if "dispute_response_approve" in json.dumps(m.blocks or [])), None
        )

    draft = await eventually(found, what="draft in the thread")
    assert isinstance(draft, Message)
    return draft


async def sandbox_documents(harness: Harness, dispute_id: str) -> list[dict[str, Any]]:
    dispute = await harness.store.services.gateway.get_dispute(dispute_id)
    assert dispute is not None
    record = await harness.sandbox.show(dispute.transaction_id)
    [shown] = record["disputes"]
    return list(shown["documents"])


async def submitted_names(harness: Harness, dispute_id: str) -> list[str]:
    """The documents the submission named, in its order (``paybot sandbox show``)."""
    dispute = await harness.store.services.gateway.get_dispute(dispute_id)
    assert dispute is not None
    [shown] = (await harness.sandbox.show(dispute.transaction_id))["disputes"]
    names = {d["id"]: d["name"] for d in shown["documents"]}
    return [names[i] for i in shown["evidence"]["documents"]]


async def test_two_pdfs_go_through_draft_approval_and_submission_once(harness: Harness) -> None:
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    dispute_id, parent = await dispute_message(harness)
    shared = harness.fake.share_file(
        staff, NOTIFY, "card-authorization.pdf", AUTHORIZATION, thread_ts=parent.ts
    )
    modal = await respond_modal(harness, staff, parent)
    blocks = {b.get("block_id"): b for b in modal["blocks"]}
    picker = blocks["documents"]["element"]
    assert picker["type"] == "file_input" and picker["max_files"] == 8
    assert set(picker["filetypes"]) == {"pdf", "png", "jpg", "jpeg"}
    offered = blocks["thread_documents"]["element"]["options"]
    assert [o["value"] for o in offered] == [shared["id"]]
    assert "refund_refusal_explanation" not in blocks, "Stripe's own fields only on Stripe"

    letter = harness.fake.user_file(staff, "engagement-letter.pdf", LETTER)
    answer = await harness.slack.submit(
        staff, modal, texts(), documents=[letter], thread_documents=[shared["id"]]
    )
    assert answer.json["response_action"] == "update", answer.json
    downloads = harness.fake.file_downloads
    assert sorted(f for f, _ in downloads) == sorted(
        f"T0PAYBOT-{i}" for i in (letter["id"], shared["id"])
    ), "each file downloaded once"
    assert all(with_token for _, with_token in downloads)

    draft = await draft_in_thread(harness, parent)
    listed = json.dumps(draft.blocks)
    assert "engagement-letter.pdf, card-authorization.pdf" in listed, "the draft names them"

    async def copies_in_thread() -> list[str]:
        await harness.cycle()
        replies = harness.fake.messages(NOTIFY, thread_ts=parent.ts)
        return [f for m in replies if m.user == harness.fake.bot_user_id for f in m.files]

    kept = await eventually(copies_in_thread, what="the documents uploaded to the thread")
    assert isinstance(kept, list) and len(kept) == 2
    opened = {harness.fake.files[f].filename: harness.fake.files[f].content for f in kept}
    assert opened == {
        "engagement-letter.pdf": LETTER,
        "card-authorization.pdf": AUTHORIZATION,
    }, "the manager opens the bot's stored copies from the thread"

    await harness.slack.block_action(manager, "dispute_response_approve", message=draft)

    async def under_review() -> bool:
        await harness.cycle()
        found = await harness.store.services.gateway.get_dispute(dispute_id)
        return found is not None and found.status is DisputeStatus.UNDER_REVIEW

    await eventually(under_review, what="evidence submitted")
    documents = await sandbox_documents(harness, dispute_id)
    assert sorted((d["name"], d["size"]) for d in documents) == [
        ("card-authorization.pdf", len(AUTHORIZATION)),
        ("engagement-letter.pdf", len(LETTER)),
    ]
    assert await submitted_names(harness, dispute_id) == [
        "engagement-letter.pdf",
        "card-authorization.pdf",
    ], "in the order they were given"
    await harness.cycle()
    assert len(await copies_in_thread()) == 2, "the thread's copies are posted once"


async def test_a_crash_between_the_uploads_and_the_submission_uploads_nothing_twice(
    harness: Harness,
) -> None:
    """The process dies after the sandbox took the second document but before the bot recorded
    its id (and so before the submission); the restarted bot sends each document once."""
    staff = await harness.user("sam", "staff")
    manager = await harness.user("meg", "manager")
    dispute_id, parent = await dispute_message(harness)
    modal = await respond_modal(harness, staff, parent)
    files = [
        harness.fake.user_file(staff, "engagement-letter.pdf", LETTER),
        harness.fake.user_file(staff, "card-authorization.pdf", AUTHORIZATION),
    ]
    answer = await harness.slack.submit(staff, modal, texts(), documents=files)
    assert answer.json["response_action"] == "update", answer.json
    draft = await draft_in_thread(harness, parent)

    gateway = harness.store.services.gateway
    real_upload = gateway.upload_dispute_document
    uploads: list[str] = []
    crashed = asyncio.Event()

    async def upload_then_die(*args: Any, **kwargs: Any) -> str:
        made = await real_upload(*args, **kwargs)
        uploads.append(made)
        if len(uploads) == 2:
            crashed.set()
            await asyncio.sleep(3600)  # the answer never arrives: the process is "dead"
        return made

    gateway.upload_dispute_document = upload_then_die  # type: ignore[method-assign]
    await harness.slack.block_action(manager, "dispute_response_approve", message=draft)
    await asyncio.wait_for(crashed.wait(), 10)
    await harness.bot.worker.stop(timeout=0)  # its job stays claimed, its lease running
    gateway.upload_dispute_document = real_upload  # type: ignore[method-assign]
    assert len(await sandbox_documents(harness, dispute_id)) == 2
    found = await gateway.get_dispute(dispute_id)
    assert found is not None and found.status is DisputeStatus.NEEDS_RESPONSE, "not submitted yet"

    sent_again: list[str] = []

    async def counted(dispute: str, document: Any, *, idempotency_key: str) -> str:
        sent_again.append(document.name)
        return await real_upload(dispute, document, idempotency_key=idempotency_key)

    gateway.upload_dispute_document = counted  # type: ignore[method-assign]
    harness.clock.advance(minutes=2)  # past the lease
    restarted = await create_bot(harness.bot.settings, clock=harness.clock, store=harness.store)
    try:
        await restarted.worker.run_ready()
    finally:
        gateway.upload_dispute_document = real_upload  # type: ignore[method-assign]
        await restarted.http.close()
        await restarted.worker.stop()
    assert sent_again == ["card-authorization.pdf"], (
        "the first document's id was recorded: only the one in flight is asked for again"
    )
    found = await gateway.get_dispute(dispute_id)
    assert found is not None and found.status is DisputeStatus.UNDER_REVIEW
    assert len(await sandbox_documents(harness, dispute_id)) == 2, "none uploaded twice"
    assert await submitted_names(harness, dispute_id) == [
        "engagement-letter.pdf",
        "card-authorization.pdf",
    ]


async def refused(harness: Harness, **values: Any) -> dict[str, str]:
    staff = await harness.user("sam", "staff")
    _, parent = await dispute_message(harness)
    for name, content in values.pop("thread", []):
        harness.fake.share_file(staff, NOTIFY, name, content, thread_ts=parent.ts)
    modal = await respond_modal(harness, staff, parent)
    picked = values.pop("picked", [])
    uploads = [harness.fake.user_file(staff, name, content) for name, content in picked]
    ticked = [o["value"] for b in modal["blocks"] if b.get("block_id") == "thread_documents"
              for o in b["element"]["options"]]  # fmt: skip
    picks: dict[str, Any] = {"documents": uploads}
    if ticked:
        picks["thread_documents"] = ticked
    answer = await harness.slack.submit(staff, modal, texts(), **picks)
    assert answer.status == 200
    assert answer.json["response_action"] == "errors", answer.json
    assert harness.fake.file_downloads == [], "refused before anything is downloaded"
    return dict(answer.json["errors"])


async def test_a_file_over_a_megabyte_is_refused_naming_it(harness: Harness) -> None:
    errors = await refused(
        harness, picked=[("letter.pdf", LETTER), ("scan.png", b"\x89PNG" + b"z" * 2_000_000)]
    )
    assert "scan.png" in errors["documents"] and "1.0 MB" in errors["documents"]
    assert "letter.pdf" not in errors["documents"]


async def test_too_many_files_are_refused_naming_those_past_the_limit(harness: Harness) -> None:
    picked = [(f"page-{i}.pdf", LETTER[:5000]) for i in range(1, 9)]
    thread = [(f"extra-{i}.pdf", LETTER[:5000]) for i in range(9, 12)]
    errors = await refused(harness, picked=picked, thread=thread)
    said = errors["thread_documents"]
    assert "11 documents" in said and "8 at most" in said
    assert all(f"extra-{i}.pdf" in said for i in (9, 10, 11)), said


async def test_a_program_shared_in_the_thread_is_refused_naming_it(harness: Harness) -> None:
    errors = await refused(harness, thread=[("invoice.exe", b"MZ" + b"\0" * 100)])
    assert "invoice.exe" in errors["thread_documents"]
    assert "PDF, PNG, JPG" in errors["thread_documents"]
