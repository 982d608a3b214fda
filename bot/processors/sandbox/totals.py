"""Daily totals over the sandbox tables: one grouped query per kind of activity, in the database.

Each query reads one date range of an index led by ``created_at`` and hands back a row per day of
the firm's calendar (per UTC hour on SQLite, which knows no zones), so a quarter of a million
payments is summed by the database, never loaded into Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start, local_day
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


def _bucket(column: Any, dialect: str, zone: tzinfo, whole_hours: bool) -> ColumnElement[Any]:
    """What a timestamp is grouped by: on PostgreSQL its day in the firm's zone (``YYYY-MM-DD``);
    on SQLite, which knows no zones, its UTC hour (or minute, in a zone some of whose days do not
    start on the hour) as ISO text, turned into a day by ``_day_of``."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(str(zone), column), "YYYY-MM-DD")
    return func.substr(column, 1, 13 if whole_hours else 16)


def _whole_hours(start: date, end: date, zone: tzinfo) -> bool:
    days = (end - start).days
    return all(
        day_start(start + timedelta(days=n), zone).minute == 0 for n in range(max(days, 0) + 1)
    )


def _day_of(key: str, zone: tzinfo) -> date:
    if len(key) == 10:
        return date.fromisoformat(key)
    stamp = key.replace(" ", "T") + (":00" if len(key) == 13 else "")
    return local_day(datetime.fromisoformat(stamp).replace(tzinfo=UTC), zone)


def _sum(expression: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(expression), 0)


def _within(column: Any, start: date, end: date, zone: tzinfo) -> ColumnElement[bool]:
    low, high = day_start(start, zone), day_start(end, zone)
    return and_(column >= low, column < high)


async def daily_totals(
    session: AsyncSession, start: date, end: date, currency: str, zone: tzinfo
) -> list[DailyTotals]:
    """Days of the firm's calendar in [start, end) with any activity, oldest first; quiet days
    are left out."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    days: dict[date, dict[str, int]] = {}
    whole_hours = _whole_hours(start, end, zone)

    def add(rows: Iterable[Any], *names: str) -> None:
        for row in rows:
            entry = days.setdefault(_day_of(str(row[0]), zone), {})
            for name, value in zip(names, row[1:], strict=True):
                entry[name] = entry.get(name, 0) + int(value or 0)

    payment_day = _bucket(T.created_at, dialect, zone, whole_hours)
    pending = case((T.status == TransactionStatus.PENDING.value, T.amount_minor), else_=0)
    add(
        await session.execute(
            select(payment_day, func.count(), _sum(T.amount_minor), _sum(pending))
            .where(
                _within(T.created_at, start, end, zone), T.kind.in_(PAYMENTS), T.status.in_(MOVED)
            )
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
                _within(T.created_at, start, end, zone),
                T.kind == PaymentKind.REFUND.value,
                T.status != TransactionStatus.FAILED.value,
            )
            .group_by(payment_day)
        ),
        "refunds",
        "refunds_minor",
    )
    D = SandboxDispute
    dispute_day = _bucket(D.created_at, dialect, zone, whole_hours)
    lost = case((D.status.in_(LOST), D.amount_minor), else_=0)
    add(
        await session.execute(
            select(dispute_day, func.count(), _sum(D.amount_minor), _sum(lost))
            .where(_within(D.created_at, start, end, zone))
            .group_by(dispute_day)
        ),
        "disputes",
        "disputes_minor",
        "disputes_lost_minor",
    )
    R = SandboxReturn
    return_day = _bucket(R.created_at, dialect, zone, whole_hours)
    add(
        await session.execute(
            select(return_day, func.count(), _sum(R.amount_minor))
            .where(_within(R.created_at, start, end, zone))
            .group_by(return_day)
        ),
        "returns",
        "returns_minor",
    )
    return [
        DailyTotals(day=day, currency=currency, **values) for day, values in sorted(days.items())
    ]
