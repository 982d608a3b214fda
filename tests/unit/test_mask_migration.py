"""Migration 0006 masks the card numbers already stored, on SQLite and PostgreSQL, the audit log's
included (the one sanctioned way around its append-only trigger), and audits what it did."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.db.base import Base
from bot.db.engine import create_engine
from bot.db.migrate import alembic_config
from bot.db.models import AuditEntry, DisputeResponse, ProcessorEventRow, RefundRequest
from bot.processors.sandbox.models import SandboxDispute, SandboxTransaction
from tests.card_numbers import KNOWN, SPELLED, leaked
from tests.unit.test_database import pg_url  # noqa: F401  (the fixture)

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def _to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def stored_before_the_guard() -> list[object]:
    """Rows as the old guard let them through: every spelling the issue found, in full."""
    spelled = " | ".join(SPELLED)
    common = {"created_at": NOW, "updated_at": NOW, "requester_slack_id": "USAM"}
    return [
        RefundRequest(
            id="r1",
            transaction_id="txn_1",
            amount_minor=100,
            currency="USD",
            account="operating",
            reason=f"charged twice: {spelled}",
            state="rejected",
            requester_username="sam",
            rejection_reason="no, 4111.1111.1111.1111",
            idempotency_key="k1",
            **common,
        ),
        DisputeResponse(
            id="d1",
            dispute_id="dp_1",
            evidence={"summary": spelled, "other": "none"},
            state="drafted",
            requester_username="sam",
            idempotency_key="k2",
            **common,
        ),
        AuditEntry(
            at=NOW,
            action="lookup",
            outcome="denied",
            source="slack_command",
            target_id="4111\u00a01111\u00a01111\u00a01111",
            reason=spelled,
            after={"reason": "5555 5555 5555 4444 12/29"},
        ),
        AuditEntry(at=NOW, action="lookup", outcome="done", source="cli", target_id="txn_2"),
        SandboxTransaction(
            id="txn_3",
            kind="sale",
            status="succeeded",
            amount_minor=100,
            currency="USD",
            method="card",
            last4="1111",
            account="operating",
            items=[{"description": spelled}],
            customer_name="4012 8888 8888 1881 123",
            description="paid",
            request_metadata={"reason": "invoice 2 6011111111111117"},
            created_at=NOW,
        ),
        SandboxDispute(
            id="dp_1",
            transaction_id="txn_3",
            amount_minor=100,
            currency="USD",
            status="needs_response",
            reason="4111/1111/1111/1111",
            network_reason_code="13.1",
            respond_by=NOW,
            created_at=NOW,
        ),
        ProcessorEventRow(
            backend="sandbox",
            event_id="ev1",
            type="dispute.created",
            object_id="dp_1",
            source="webhook",
            occurred_at=NOW,
            received_at=NOW,
            data={"reason": "4111_1111_1111_1111"},
        ),
    ]


async def check_masking(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_to, "0005")
    async with async_sessionmaker(engine)() as session, session.begin():
        session.add_all(stored_before_the_guard())
    async with engine.begin() as conn:
        await conn.run_sync(_to, "head")
    dump = []
    async with engine.connect() as conn:
        for table in (
            "refund_requests",
            "dispute_responses",
            "audit_log",
            "sandbox_transactions",
            "sandbox_disputes",
            "processor_events",
        ):
            rows = (await conn.execute(select(Base.metadata.tables[table]))).mappings().all()
            assert rows, table
            dump += [json.dumps(dict(r), default=str, ensure_ascii=False) for r in rows]
        audit = (
            await conn.execute(text("SELECT action, reason, after FROM audit_log ORDER BY id"))
        ).all()
    text_ = "\n".join(dump)
    assert [n for n in KNOWN if leaked(n, text_)] == []
    assert "[Visa •••• 1111]" in text_ and "txn_2" in text_  # masked, and the rest unchanged
    assert len(audit) == 3
    action, reason, after = audit[-1]
    assert action == "mask_card_numbers"
    assert "refund_requests 1" in reason and "audit_log 1" in reason
    rows_masked = (json.loads(after) if isinstance(after, str) else after)["rows_masked"]
    assert rows_masked["audit_log"] == 1 and rows_masked["sandbox_transactions"] == 1
    if url.startswith("postgresql"):  # append-only again once the migration is done
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE audit_log SET reason = 'x'"))
    await engine.dispose()


async def test_stored_card_numbers_are_masked_on_sqlite(tmp_path: Path) -> None:
    await check_masking(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")


async def test_stored_card_numbers_are_masked_on_postgres(pg_url: str) -> None:  # noqa: F811
    await check_masking(pg_url)
