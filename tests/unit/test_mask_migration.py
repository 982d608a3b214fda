"""Migrations 0006 and 0008 mask the card numbers already stored, on SQLite and PostgreSQL, the
audit log's included (the one sanctioned way around its append-only trigger), and audit what
they did."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Row, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.base import Base
from bot.db.engine import create_engine
from bot.db.migrate import alembic_config
from bot.db.models import (
    AuditEntry,
    DisputeResponse,
    Matter,
    PortalUser,
    ProcessorEventRow,
    RefundRequest,
)
from bot.processors.sandbox.models import SandboxDispute, SandboxTransaction
from tests.card_numbers import KNOWN, SPELLED, leaked
from tests.unit.test_database import pg_url  # noqa: F401  (the fixture)

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def _to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def payment(id: str, **fields: Any) -> SandboxTransaction:
    """A sandbox card payment with `fields` set."""
    common = {"kind": "sale", "status": "succeeded", "amount_minor": 100, "currency": "USD"}
    common |= {"method": "card", "last4": "1111", "account": "operating", "created_at": NOW}
    return SandboxTransaction(id=id, **(common | {"items": [], "request_metadata": {}} | fields))


def event(event_id: str, object_id: str, **fields: Any) -> ProcessorEventRow:
    """A sandbox dispute event received by webhook, with `fields` set."""
    common = {"backend": "sandbox", "type": "dispute.created", "source": "webhook"}
    common |= {"occurred_at": NOW, "received_at": NOW, "data": {}}
    return ProcessorEventRow(event_id=event_id, object_id=object_id, **(common | fields))


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
        payment(
            "txn_3",
            items=[{"description": spelled}],
            customer_name="4012 8888 8888 1881 123",
            description="paid",
            request_metadata={"reason": "invoice 2 6011111111111117"},
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
        event("ev1", "dp_1", data={"reason": "4111_1111_1111_1111"}),
    ]


async def migrated(url: str, revision: str, rows: list[object]) -> AsyncEngine:
    """A database at `revision` holding `rows`, then upgraded to the head."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_to, revision)
    async with engine.begin() as conn:
        for row in rows:  # only the values set: today's models have columns `revision` lacks
            mapper = inspect(row).mapper
            values = {
                attr.columns[0].name: getattr(row, attr.key)
                for attr in mapper.column_attrs
                if getattr(row, attr.key) is not None
            }
            await conn.execute(mapper.local_table.insert().values(values))
    async with engine.begin() as conn:
        await conn.run_sync(_to, "head")
    return engine


async def stored(engine: AsyncEngine, tables: list[str]) -> tuple[str, list[Row[Any]]]:
    """Every row of the tables (each holds some) as JSON lines, and the audit log's rows."""
    dump = []
    async with engine.connect() as conn:
        for table in tables:
            rows = (await conn.execute(select(Base.metadata.tables[table]))).mappings().all()
            assert rows, table
            dump += [json.dumps(dict(r), default=str, ensure_ascii=False) for r in rows]
        audit = (
            await conn.execute(text("SELECT action, reason, after FROM audit_log ORDER BY id"))
        ).all()
    text_ = "\n".join(dump)
    assert [n for n in KNOWN if leaked(n, text_)] == [], text_
    return text_, list(audit)


def rows_masked(after: Any) -> dict[str, int]:
    return dict((json.loads(after) if isinstance(after, str) else after)["rows_masked"])


async def still_append_only(engine: AsyncEngine, url: str) -> None:
    if url.startswith("postgresql"):  # append-only again once the migration is done
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE audit_log SET reason = 'x'"))
    await engine.dispose()


async def check_masking(url: str) -> None:
    engine = await migrated(url, "0005", stored_before_the_guard())
    text_, audit = await stored(
        engine,
        [
            "refund_requests",
            "dispute_responses",
            "audit_log",
            "sandbox_transactions",
            "sandbox_disputes",
            "processor_events",
        ],
    )
    assert "[Visa •••• 1111]" in text_ and "txn_2" in text_  # masked, and the rest unchanged
    assert len(audit) == 3
    action, reason, after = audit[-1]
    assert action == "mask_card_numbers"
    assert "refund_requests 1" in reason and "audit_log 1" in reason
    masked = rows_masked(after)
    assert masked["audit_log"] == 1 and masked["sandbox_transactions"] == 1
    await still_append_only(engine, url)


async def test_stored_card_numbers_are_masked_on_sqlite(tmp_path: Path) -> None:
    await check_masking(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")


async def test_stored_card_numbers_are_masked_on_postgres(pg_url: str) -> None:  # noqa: F811
    await check_masking(pg_url)


def stored_before_0008() -> list[object]:
    """Rows 0006 did not look at, or held spellings it did not know."""
    tagged = "\U000e0020".join(["4111", "1111", "1111", "1111"])  # a tag character between groups
    return [
        PortalUser(
            username="sam",
            full_name="Sam 4012 8888 8888 1881\u202e",
            email="sam@firm.test",
            role="staff",
            created_at=NOW,
            updated_at=NOW,
        ),
        Matter(id="MAT-1", name="Estate of 5555.5555.5555.4444"),
        Matter(id="MAT-2", name="Plain matter 2026-11-16"),
        payment(  # 0006 masked the name, not its search key
            "txn_4",
            customer_name="[Visa •••• 1111]",
            customer_key="4111 1111 1111 1111",
            description=f"paid with {tagged}",
        ),
        AuditEntry(
            at=NOW,
            action="lookup",
            outcome="denied",
            source="slack_command",
            reason=f"card {tagged}",
        ),
        event("evt_4111.1111.1111.1111", "dp_6011111111111117"),
        # the same id once masked, received later: dropped, as a webhook is now
        event("evt_4111 1111 1111 1111", "dp_2", received_at=NOW + timedelta(minutes=1)),
    ]


async def check_0008(url: str) -> None:
    engine = await migrated(url, "0007", stored_before_0008())
    text_, audit = await stored(
        engine,
        ["portal_users", "matters", "sandbox_transactions", "audit_log", "processor_events"],
    )
    async with engine.connect() as conn:
        name, key = (
            await conn.execute(text("SELECT customer_name, customer_key FROM sandbox_transactions"))
        ).one()
        full_name = (await conn.execute(text("SELECT full_name FROM portal_users"))).scalar()
        events = (
            await conn.execute(text("SELECT event_id, object_id FROM processor_events"))
        ).all()
    assert (name, key) == ("[Visa •••• 1111]", "[visa •••• 1111]")
    assert full_name == "Sam [Visa •••• 1881]"
    assert "Estate of [Mastercard •••• 4444]" in text_ and "Plain matter 2026-11-16" in text_
    assert [tuple(e) for e in events] == [("evt_[Visa •••• 1111]", "dp_[Discover •••• 1117]")]
    action, reason, after = audit[-1]
    assert action == "mask_card_numbers" and reason.startswith("migration 0008"), reason
    assert rows_masked(after) == {
        "audit_log": 1,
        "sandbox_transactions": 2,  # the description by 0006's pass, the key by the names' pass
        "portal_users": 1,
        "matters": 1,
        "processor_events": 2,
    }
    await still_append_only(engine, url)


async def test_names_keys_ids_and_new_spellings_are_masked_on_sqlite(tmp_path: Path) -> None:
    await check_0008(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")


async def test_names_keys_ids_and_new_spellings_are_masked_on_postgres(
    pg_url: str,  # noqa: F811
) -> None:
    await check_0008(pg_url)
