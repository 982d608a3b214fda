"""card numbers already stored are masked, the audit log's included, and the masking is audited

Before the card-number guard caught every spelling, a number typed with dots, double spaces, a
no-break or zero-width space, or next to an expiry or CVV was stored in full. This pass runs the
guard (bot/pan.py) over every column that keeps text a person or a processor gave us. Rows whose
text holds fewer than 13 digits are skipped by the database itself, so a large sandbox is not read
row by row.

The audit log is append-only; on PostgreSQL its trigger refuses UPDATE. This migration is the one
sanctioned path around it: the trigger is disabled and re-enabled inside this migration's
transaction (ALTER TABLE holds the table's exclusive lock until the commit, so nothing else can
write meanwhile), and an audit row says what was masked, table by table (none when nothing was).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime
from bot.pan import mask_pans
from bot.usertext import map_strings

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (key columns, text columns with their lengths (None: unlimited), JSON columns)
COLUMNS: dict[str, tuple[tuple[str, ...], dict[str, int | None], tuple[str, ...]]] = {
    "refund_requests": (
        ("id",),
        {"reason": None, "rejection_reason": None, "failure_reason": None},
        (),
    ),
    "dispute_responses": (
        ("id",),
        {"rejection_reason": None, "failure_reason": None},
        ("evidence",),
    ),
    "audit_log": (("id",), {"target_id": 80, "reason": None}, ("before", "after")),
    "sandbox_transactions": (
        ("id",),
        {"customer_name": 200, "description": None},
        ("items", "request_metadata"),
    ),
    "sandbox_disputes": (("id",), {"reason": 200}, ("evidence",)),
    "sandbox_events": (("seq",), {}, ("data",)),
    "processor_events": (("backend", "event_id"), {}, ("data",)),
    "outbox": (("id",), {"last_error": None}, ("payload",)),
    "jobs": (("id",), {"last_error": None}, ("payload",)),
}
AUDIT_TRIGGER = "audit_log_append_only"


def _has_13_digits(bind: sa.Connection, column: str) -> sa.TextClause:
    """A cheap filter in the database: the column's text holds at least 13 digits (any card
    number does, however it is spelled; JSON escapes only add digits)."""
    if bind.dialect.name == "postgresql":
        return sa.text(f"CAST(\"{column}\" AS TEXT) ~ '([0-9][^0-9]*){{13}}'")
    return sa.text(f"CAST(\"{column}\" AS TEXT) GLOB '{'*[0-9]' * 13}*'")


def _mask_table(bind: sa.Connection, name: str) -> int:
    keys, texts, jsons = COLUMNS[name]
    table = sa.table(
        name,
        *(sa.column(k) for k in keys),
        *(sa.column(c, sa.Text) for c in texts),
        *(sa.column(c, sa.JSON) for c in jsons),
    )
    candidates = sa.select(table).where(
        sa.or_(*(_has_13_digits(bind, c) for c in (*texts, *jsons)))
    )
    changed = 0
    for row in bind.execute(candidates).mappings().all():
        values: dict[str, Any] = {}
        for column, length in texts.items():
            if row[column] is not None:
                masked = mask_pans(row[column])[:length]
                if masked != row[column]:
                    values[column] = masked
        for column in jsons:
            masked_json = map_strings(row[column], mask_pans)
            if masked_json != row[column]:
                values[column] = masked_json
        if values:
            where = sa.and_(*(table.c[k] == row[k] for k in keys))
            bind.execute(sa.update(table).where(where).values(**values))
            changed += 1
    return changed


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute(f"ALTER TABLE audit_log DISABLE TRIGGER {AUDIT_TRIGGER}")
    counts = {name: _mask_table(bind, name) for name in COLUMNS}
    if postgres:
        op.execute(f"ALTER TABLE audit_log ENABLE TRIGGER {AUDIT_TRIGGER}")
    masked = {name: count for name, count in counts.items() if count}
    if not masked:
        return  # nothing was stored in full: nothing to say
    summary = ", ".join(f"{name} {count}" for name, count in masked.items())
    audit = sa.table(
        "audit_log",
        sa.column("at", UTCDateTime()),
        sa.column("action"),
        sa.column("target_type"),
        sa.column("outcome"),
        sa.column("reason"),
        sa.column("source"),
        sa.column("after", sa.JSON),
    )
    bind.execute(
        sa.insert(audit).values(
            at=datetime.now(UTC),
            action="mask_card_numbers",
            target_type="database",
            outcome="done",
            reason=f"migration 0006 masked stored card numbers, rows per table: {summary}",
            source="system",
            after={"rows_masked": masked},
        )
    )


def downgrade() -> None:
    """Nothing to undo: a masked card number cannot be restored, and must not be."""
