"""A dispute response's documents: each processor's limits, refusals that name the file and the
limit, and the stored copies with their upload state on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.db.engine import create_engine, create_session_factory
from bot.db.migrate import upgrade_database
from bot.documents import (
    STRICTEST_LIMITS,
    THREAD_BLOCK,
    DocumentFile,
    OfferedFile,
    SentDocument,
)
from bot.domain import Account, MethodType, Money, PaymentKind
from bot.errors import FormErrors, ProcessorError
from bot.evidence import DisputeEvidence
from bot.processors.sandbox import SandboxGateway, SandboxSimulator
from bot.processors.stripe.disputes import STRIPE_LIMITS
from bot.services.evidence import EvidenceDocuments, check_files
from tests.processes import postgres_database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MB = 1_000_000


def pdf(name: str, size: int = 50_000, block: str = "documents") -> OfferedFile:
    return OfferedFile(f"F{uuid.uuid4().hex[:8].upper()}", name, size, "https://x", block)


def refusal(files: list[OfferedFile], limits: object = STRICTEST_LIMITS) -> dict[str, str]:
    with pytest.raises(FormErrors) as raised:
        check_files(files, limits)  # type: ignore[arg-type]
    return raised.value.errors


def test_files_within_the_limits_pass() -> None:
    check_files([pdf(f"page-{i}.pdf", MB) for i in range(8)], STRICTEST_LIMITS)
    check_files([pdf("scan.jpeg", 4 * MB)], STRIPE_LIMITS)


def test_each_limit_names_the_file_and_the_limit_beside_its_field() -> None:
    big = refusal([pdf("letter.pdf"), pdf("scan.png", 2 * MB)])
    assert big == {"documents": "scan.png is 2.0 MB: over the 1.0 MB a file the processor takes."}
    kind = refusal([pdf("setup.exe", 100, THREAD_BLOCK), pdf("notes")])
    assert "setup.exe: only PDF, PNG, JPG files are taken." in kind[THREAD_BLOCK]
    assert "notes: only" in kind["documents"]
    many = refusal(
        [pdf(f"p{i}.pdf") for i in range(8)]
        + [pdf(f"t{i}.pdf", block=THREAD_BLOCK) for i in range(3)]
    )
    assert many == {
        THREAD_BLOCK: "11 documents: the processor takes 8 at most, so t0.pdf, t1.pdf, t2.pdf "
        "cannot go."
    }


def test_stripe_takes_bigger_files_but_fewer_and_less_in_all() -> None:
    assert (STRIPE_LIMITS.count, STRIPE_LIMITS.each, STRIPE_LIMITS.total) == (6, 5 * MB, 4_500_000)
    total = refusal([pdf("a.pdf", 3 * MB), pdf("b.pdf", 2 * MB)], STRIPE_LIMITS)
    assert "5.0 MB" in total["documents"] and "4.5 MB in all" in total["documents"]
    assert "b.pdf" in total["documents"]
    seven = refusal([pdf(f"{i}.pdf") for i in range(7)], STRIPE_LIMITS)
    assert "6 at most, so 6.pdf cannot go" in seven["documents"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'evidence.db'}"
        return
    async with postgres_database() as url:
        yield url


async def test_documents_are_kept_whole_and_their_processor_id_recorded_once(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await upgrade_database(engine)
    sessions = create_session_factory(engine)
    documents = EvidenceDocuments(sessions, ManualClock(datetime(2026, 11, 16, tzinfo=UTC)))
    content = b"%PDF-1.4\n" + bytes(range(256)) * 400  # every byte value survives the round trip
    kept = [
        (pdf("letter.pdf", len(content)), DocumentFile("letter.pdf", "application/pdf", content)),
        (pdf("card.png", 4), DocumentFile("card.png", "image/png", b"\x89PNG")),
    ]
    try:
        async with sessions.begin() as session:
            session.add_all(documents.rows("r1", kept))
        first, second = await documents.of("r1")
        assert (first.name, first.position, first.size) == ("letter.pdf", 0, len(content))
        assert (await documents.file(first)).content == content
        assert (await documents.file(second)).mimetype == "image/png"
        await documents.uploaded(first.id, "file_1")
        await documents.uploaded(first.id, "file_other")  # another worker, late: no change
        again = await documents.of("r1")
        assert [d.processor_id for d in again] == ["file_1", None]
    finally:
        await engine.dispose()


async def test_the_sandbox_keeps_each_upload_once_and_lists_what_was_submitted(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await upgrade_database(engine)
    sessions = create_session_factory(engine)
    clock = ManualClock(datetime(2026, 11, 16, 15, tzinfo=UTC))
    simulator = SandboxSimulator(sessions, clock)
    gateway = SandboxGateway(sessions, clock)
    try:
        paid = await simulator.charge(
            Money.parse("300.00"),
            MethodType.CARD,
            PaymentKind.SALE,
            "MAT-1",
            Account.OPERATING,
            "visa",
            "4242",
            "Dana Client",
        )
        dispute = await simulator.dispute(paid.id)
        letter = DocumentFile("letter.pdf", "application/pdf", b"%PDF-1.4 letter")
        first = await gateway.upload_dispute_document(dispute.id, letter, idempotency_key="k-0")
        again = await gateway.upload_dispute_document(dispute.id, letter, idempotency_key="k-0")
        assert again == first, "the same key is the same upload"
        with pytest.raises(ProcessorError, match=r"setup\.exe"):
            await gateway.upload_dispute_document(
                dispute.id, DocumentFile("setup.exe", "x", b"MZ"), idempotency_key="k-1"
            )
        with pytest.raises(ProcessorError, match="No document"):
            await gateway.submit_dispute_evidence(
                dispute.id,
                DisputeEvidence("A summary"),
                idempotency_key="e",
                documents=[SentDocument("doc_elsewhere", "other.pdf")],
            )
        await gateway.submit_dispute_evidence(
            dispute.id,
            DisputeEvidence("A summary"),
            idempotency_key="e",
            documents=[SentDocument(first, "letter.pdf")],
        )
        [shown] = (await simulator.show(paid.id))["disputes"]
        assert [d["name"] for d in shown["documents"]] == ["letter.pdf"]
        assert shown["evidence"]["documents"] == [first]
    finally:
        await engine.dispose()
