"""Sandbox rows read as domain objects: the ``to_*`` mappers, the lookup and page loading."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import FromClause, Row, Select, Table, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import domain
from bot.processors.sandbox.models import (
    SandboxDispute,
    SandboxReturn,
    SandboxTransaction,
    SandboxWithdrawal,
)

T = SandboxTransaction


def columns_of(row: object) -> dict[str, Any]:
    """An ORM row as the plain dict the event builders read."""
    table = cast(Any, row).__table__
    return {column.key: getattr(row, column.key) for column in table.columns}


def money(minor: int, currency: str) -> domain.Money:
    return domain.Money(int(minor), currency)


def to_refund(row: SandboxTransaction) -> domain.Refund:
    return domain.Refund(
        id=row.id,
        transaction_id=row.original_id or "",
        amount=money(row.amount_minor, row.currency),
        status=domain.RefundStatus(row.status),
        created_at=row.created_at,
        settled_at=row.settled_at,
    )


def to_dispute(row: SandboxDispute) -> domain.Dispute:
    return domain.Dispute(
        id=row.id,
        transaction_id=row.transaction_id,
        amount=money(row.amount_minor, row.currency),
        status=domain.DisputeStatus(row.status),
        reason=row.reason,
        network_reason_code=row.network_reason_code,
        respond_by=row.respond_by,
        created_at=row.created_at,
        matter_id=row.matter_id,
        evidence_submitted_at=row.evidence_submitted_at,
    )


def to_return(row: SandboxReturn) -> domain.PaymentReturn:
    return domain.PaymentReturn(
        id=row.id,
        transaction_id=row.transaction_id,
        code=row.code,
        amount=money(row.amount_minor, row.currency),
        created_at=row.created_at,
        matter_id=row.matter_id,
    )


def to_transaction(
    row: SandboxTransaction,
    refunds: Sequence[domain.Refund] = (),
    disputes: Sequence[domain.Dispute] = (),
) -> domain.Transaction:
    return domain.Transaction(
        id=row.id,
        kind=domain.PaymentKind(row.kind),
        status=domain.TransactionStatus(row.status),
        amount=money(row.amount_minor, row.currency),
        method=domain.PaymentMethod(domain.MethodType(row.method), row.last4, row.brand),
        created_at=row.created_at,
        matter_id=row.matter_id,
        account=domain.Account(row.account),
        customer_name=row.customer_name,
        description=row.description,
        items=tuple(
            domain.LineItem(item["description"], money(item["amount_minor"], row.currency))
            for item in row.items
        ),
        refunds=tuple(refunds),
        disputes=tuple(disputes),
        original_id=row.original_id,
        return_code=row.return_code,
    )


class Columns:
    """A Core row read as the model it came from (``row.amount_minor``), so the ``to_*`` mappers
    serve both: the hot lookup skips the ORM's identity map and instance loading (a third of its
    cost, bench/answers.py) and reads plain rows. The row's values of the table's columns are
    copied into the instance's attributes once: read through ``__getattr__`` each read first
    failed the ordinary lookup, about a microsecond apiece and twenty a payment (18 of a
    payment's 28 microseconds to map). A column the statement did not select is no attribute."""

    _by_table: dict[FromClause, tuple[tuple[str, Any], ...]] = {}

    def __init__(self, mapping: Mapping[Any, Any], table: FromClause) -> None:
        columns = self._by_table.get(table)
        if columns is None:
            columns = self._by_table[table] = tuple((column.key, column) for column in table.c)
        self.__dict__.update(
            (name, mapping[column]) for name, column in columns if column in mapping
        )

    def __getattr__(self, name: str) -> Any:  # for mypy: the attributes are the row's
        raise AttributeError(name)


TRANSACTIONS = cast(Table, T.__table__)
DISPUTES = cast(Table, SandboxDispute.__table__)
# The columns the card's mappers read (to_transaction, to_refund, to_dispute): of 43, the others
# (a request's metadata and a dispute's evidence, JSON each, five more dates) were decoded on
# every lookup and never read.
SHOWN = {
    TRANSACTIONS: (
        *("id", "kind", "status", "amount_minor", "currency", "method", "brand", "last4"),
        *("account", "matter_id", "customer_name", "description", "items", "original_id"),
        *("return_code", "settled_at", "created_at"),
    ),
    DISPUTES: (
        *("id", "transaction_id", "amount_minor", "currency", "status", "reason"),
        *("network_reason_code", "respond_by", "matter_id", "evidence_submitted_at", "created_at"),
    ),
}
# A transaction with its refunds and its dispute, in one statement built once (see get_transaction).
LOOKUP = (
    select(*(table.c[name] for table, names in SHOWN.items() for name in names))
    .select_from(TRANSACTIONS.outerjoin(DISPUTES, DISPUTES.c.transaction_id == TRANSACTIONS.c.id))
    .where(
        or_(
            TRANSACTIONS.c.id == bindparam("transaction_id"),
            TRANSACTIONS.c.original_id == bindparam("transaction_id"),
        )
    )
    .order_by(TRANSACTIONS.c.created_at, TRANSACTIONS.c.id)
)


async def load_transactions(
    session: AsyncSession, rows: Sequence[SandboxTransaction]
) -> list[domain.Transaction]:
    """Domain transactions with their refunds and disputes: two queries for the whole page."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    refunds: dict[str, list[domain.Refund]] = {}
    refund_rows = await session.scalars(  # only refunds have an original
        select(T).where(T.original_id.in_(ids)).order_by(T.created_at, T.id)
    )
    for refund in refund_rows:
        refunds.setdefault(refund.original_id or "", []).append(to_refund(refund))
    disputes: dict[str, list[domain.Dispute]] = {}
    dispute_rows = await session.scalars(
        select(SandboxDispute)
        .where(SandboxDispute.transaction_id.in_(ids))
        .order_by(SandboxDispute.created_at, SandboxDispute.id)
    )
    for dispute in dispute_rows:
        disputes.setdefault(dispute.transaction_id, []).append(to_dispute(dispute))
    return [to_transaction(row, refunds.get(row.id, ()), disputes.get(row.id, ())) for row in rows]


def to_withdrawal(row: SandboxWithdrawal, transaction_ids: Sequence[str]) -> domain.Withdrawal:
    return domain.Withdrawal(
        id=row.id,
        amount=money(row.amount_minor, row.currency),
        status=domain.WithdrawalStatus(row.status),
        created_at=row.created_at,
        arrives_at=row.arrives_at,
        transaction_ids=tuple(transaction_ids),
        account=domain.Account(row.account),
        fees=money(row.fees_minor, row.currency) if row.fees_minor else None,
    )


REFUNDS = TRANSACTIONS.alias("refund")


def page_with_related(page: FromClause, keyset_key: str, descending: bool) -> Select[Any]:
    """A page of payments (``page``: their keyset query as a subquery) with each one's refunds
    and disputes, in one statement: a history page is one database round trip, not three."""
    key, id_ = page.c[keyset_key], page.c.id
    return (
        select(page, REFUNDS, DISPUTES)
        .select_from(
            page.outerjoin(REFUNDS, REFUNDS.c.original_id == id_).outerjoin(
                DISPUTES, DISPUTES.c.transaction_id == id_
            )
        )
        .order_by(
            key.desc() if descending else key.asc(),
            id_.desc() if descending else id_.asc(),
            REFUNDS.c.created_at,
            REFUNDS.c.id,
            DISPUTES.c.created_at,
            DISPUTES.c.id,
        )
    )


def group_related(
    page: FromClause, rows: Sequence[Row[Any]]
) -> tuple[list[Columns], dict[str, list[domain.Refund]], dict[str, list[domain.Dispute]]]:
    """``page_with_related``'s rows as the page's payments (in order), and their refunds and
    disputes by payment id (a payment with two of each comes back as four rows)."""
    payments: dict[str, Columns] = {}
    refunds: dict[str, dict[str, domain.Refund]] = {}
    disputes: dict[str, dict[str, domain.Dispute]] = {}
    for row in rows:
        mapping = row._mapping
        payment = Columns(mapping, page)
        pid = payment.id
        payments.setdefault(pid, payment)
        if mapping[REFUNDS.c.id] is not None:
            refund = to_refund(cast(T, Columns(mapping, REFUNDS)))
            refunds.setdefault(pid, {}).setdefault(refund.id, refund)
        if mapping[DISPUTES.c.id] is not None:
            dispute = to_dispute(cast(SandboxDispute, Columns(mapping, DISPUTES)))
            disputes.setdefault(pid, {}).setdefault(dispute.id, dispute)
    return (
        list(payments.values()),
        {pid: list(found.values()) for pid, found in refunds.items()},
        {pid: list(found.values()) for pid, found in disputes.items()},
    )
