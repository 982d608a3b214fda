"""card numbers masked where 0006 did not look, and in the spellings it did not know

0006 left three places a name is kept: ``sandbox_transactions.customer_key`` (the casefolded copy
of ``customer_name`` that searches read), ``portal_users.full_name`` and ``matters.name``; and a
processor event's ids. Since then the guard (bot/pan.py) has learned more spellings: every format
and space character between digit groups, a 19-digit card followed by its CVV, labelled CVVs. This
pass runs 0006's again with the current guard, cleans the names with the text rules
(bot/usertext.py ``clean``: card numbers masked, control and format characters removed), derives
each ``customer_key`` again from its cleaned name, and cleans event ids. An event whose cleaned
id an event received earlier already has is dropped, as the webhook would drop it now.

The audit log is passed through the same sanctioned path as in 0006 (its trigger disabled inside
this transaction on PostgreSQL), and an audit row says what was masked, table by table.

Revision ID: 0008
Revises: 0007
"""

import importlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime
from bot.usertext import clean

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_0006: Any = importlib.import_module("bot.db.migrations.versions.0006_mask_stored_card_numbers")
# Small tables (the firm's people and matters): every row is read, so a name holding only
# format characters is cleaned as well.
NAMES = {"portal_users": ("id", "full_name"), "matters": ("id", "name")}


def _clean_names(bind: sa.Connection, name: str) -> int:
    key, column = NAMES[name]
    table = sa.table(name, sa.column(key), sa.column(column, sa.Text))
    changed = 0
    for row in bind.execute(sa.select(table)).mappings().all():
        cleaned = clean(row[column])[:200]
        if cleaned != row[column]:
            bind.execute(sa.update(table).where(table.c[key] == row[key]).values({column: cleaned}))
            changed += 1
    return changed


def _customer_names(bind: sa.Connection) -> int:
    """Each customer name cleaned and its search key derived from it again (as
    bot/processors/sandbox/records.py derives it: the name casefolded)."""
    table = sa.table(
        "sandbox_transactions",
        sa.column("id"),
        sa.column("customer_name", sa.Text),
        sa.column("customer_key", sa.Text),
    )
    candidates = sa.select(table).where(
        sa.or_(*(_0006._has_13_digits(bind, c) for c in ("customer_name", "customer_key")))
    )
    changed = 0
    for row in bind.execute(candidates).mappings().all():
        name = None if row["customer_name"] is None else clean(row["customer_name"])[:200]
        key = row["customer_key"]
        if key is not None:
            key = (name.casefold() if name is not None else clean(key))[:200]
        values = {
            column: value
            for column, value in (("customer_name", name), ("customer_key", key))
            if value != row[column]
        }
        if values:
            bind.execute(sa.update(table).where(table.c.id == row["id"]).values(**values))
            changed += 1
    return changed


def _event_ids(bind: sa.Connection) -> int:
    table = sa.table(
        "processor_events",
        sa.column("backend"),
        sa.column("event_id", sa.Text),
        sa.column("object_id", sa.Text),
        sa.column("received_at"),
    )
    candidates = (
        sa.select(table)
        .where(sa.or_(*(_0006._has_13_digits(bind, c) for c in ("event_id", "object_id"))))
        .order_by(table.c.received_at, table.c.event_id)
    )
    changed = 0
    for row in bind.execute(candidates).mappings().all():
        event_id, object_id = clean(row["event_id"])[:100], clean(row["object_id"])[:100]
        if (event_id, object_id) == (row["event_id"], row["object_id"]):
            continue
        this = sa.and_(table.c.backend == row["backend"], table.c.event_id == row["event_id"])
        taken = (
            event_id != row["event_id"]
            and bind.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.backend == row["backend"], table.c.event_id == event_id)
            ).scalar()
        )
        if taken:
            bind.execute(sa.delete(table).where(this))
        else:
            bind.execute(
                sa.update(table).where(this).values(event_id=event_id, object_id=object_id)
            )
        changed += 1
    return changed


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute(f"ALTER TABLE audit_log DISABLE TRIGGER {_0006.AUDIT_TRIGGER}")
    counts = {name: _0006._mask_table(bind, name) for name in _0006.COLUMNS}
    if postgres:
        op.execute(f"ALTER TABLE audit_log ENABLE TRIGGER {_0006.AUDIT_TRIGGER}")
    counts["sandbox_transactions"] += _customer_names(bind)
    counts |= {name: _clean_names(bind, name) for name in NAMES}
    counts["processor_events"] += _event_ids(bind)
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
            reason=f"migration 0008 masked stored card numbers, rows per table: {summary}",
            source="system",
            after={"rows_masked": masked},
        )
    )


def downgrade() -> None:
    """Nothing to undo: a masked card number cannot be restored, and must not be."""
