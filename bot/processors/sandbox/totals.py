"""Daily totals over the sandbox tables: one grouped query per kind of activity, in the database.

Each query reads one date range of an index led by ``created_at`` and hands back a row per day, so
a quarter of a million payments is summed by the database, never loaded into Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import DailyTotals, DisputeStatus, PaymentKind, TransactionStatus
from bot.processors.sandbox.models import SandboxDispute, SandboxReturn, SandboxTransaction

T = SandboxTransaction
MOVED = (
    TransactionStatus.SUCCEEDED.value,
    TransactionStatus.PENDING.value,
    TransactionStatus.RETURNED.value,
)
PAYMENTS = (PaymentKind.SALE.value, PaymentKind.AUTHORIZATION.value)
LOST = (DisputeStatus.LOST.value, DisputeStatus.ACCEPTED.value)


def _day(column: Any, dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp, as the database writes it (``YYYY-MM-DD``)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite keeps UTC timestamps as ISO text


def _sum(expression: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(expression), 0)


def _within(column: Any, start: date, end: date) -> ColumnElement[bool]:
    low = datetime.combine(start, time(), tzinfo=UTC)
    high = datetime.combine(end, time(), tzinfo=UTC)
    return and_(column >= low, column < high)


async def daily_totals(
    session: AsyncSession, start: date, end: date, currency: str
) -> list[DailyTotals]:
    """Days in [start, end) with any activity, oldest first; quiet days are left out."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    days: dict[str, dict[str, int]] = {}

    def add(rows: Iterable[Any], *names: str) -> None:
        for row in rows:
            entry = days.setdefault(str(row[0]), {})
            for name, value in zip(names, row[1:], strict=True):
                entry[name] = int(value or 0)

    payment_day = _day(T.created_at, dialect)
    pending = case((T.status == TransactionStatus.PENDING.value, T.amount_minor), else_=0)
    add(
        await session.execute(
            select(payment_day, func.count(), _sum(T.amount_minor), _sum(pending))
            .where(_within(T.created_at, start, end), T.kind.in_(PAYMENTS), T.status.in_(MOVED))
            .group_by(payment_day)
        ),
        "payments",
        "payments_minor",
        "pending_minor",
    )
    add(
        await session.execute(
            select(payment_day, func.count(), _sum(T.amount_minor))
            .where(
                _within(T.created_at, start, end),
                T.kind == PaymentKind.REFUND.value,
                T.status != TransactionStatus.FAILED.value,
            )
            .group_by(payment_day)
        ),
        "refunds",
        "refunds_minor",
    )
    D = SandboxDispute
    dispute_day = _day(D.created_at, dialect)
    lost = case((D.status.in_(LOST), D.amount_minor), else_=0)
    add(
        await session.execute(
            select(dispute_day, func.count(), _sum(D.amount_minor), _sum(lost))
            .where(_within(D.created_at, start, end))
            .group_by(dispute_day)
        ),
        "disputes",
        "disputes_minor",
        "disputes_lost_minor",
    )
    R = SandboxReturn
    return_day = _day(R.created_at, dialect)
    add(
        await session.execute(
            select(return_day, func.count(), _sum(R.amount_minor))
            .where(_within(R.created_at, start, end))
            .group_by(return_day)
        ),
        "returns",
        "returns_minor",
    )
    return [
        DailyTotals(day=date.fromisoformat(key), currency=currency, **values)
        for key, values in sorted(days.items())
    ]
