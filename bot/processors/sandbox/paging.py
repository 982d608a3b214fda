"""Keyset paging over the sandbox tables: the listing orders, their cursors and one page fetch."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from bot.domain import HistorySort
from bot.errors import ProcessorError
from bot.processors.sandbox.models import (
    SandboxDispute,
    SandboxReturn,
    SandboxTransaction,
    SandboxWithdrawal,
)

MAX_PAGE = 100

T = SandboxTransaction
M = TypeVar("M")


@dataclass(frozen=True)
class Keyset:
    """One listing order: a sort column, the id as tie-breaker, and a direction."""

    name: str  # written into cursors, so a cursor from another order is refused
    key: QueryableAttribute[Any]
    id: QueryableAttribute[str]
    descending: bool

    def key_of(self, row: object) -> Any:
        return getattr(row, self.key.key)


BAD_CURSOR = "That page link is no longer valid; start the list again."


def encode_cursor(keyset: Keyset, row: object, *, backward: bool) -> str:
    key = keyset.key_of(row)
    payload = {
        "o": keyset.name,
        "k": key.isoformat() if isinstance(key, datetime) else key,
        "i": getattr(row, keyset.id.key),
        "b": backward,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(keyset: Keyset, text: str) -> tuple[Any, str, bool]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(payload, dict) or payload.get("o") != keyset.name:
            raise ValueError("cursor from another listing")
        key, id_, backward = payload["k"], payload["i"], payload["b"]
        if isinstance(key, str):
            key = datetime.fromisoformat(key)
            if key.tzinfo is None:
                raise ValueError("naive time in cursor")
        elif not isinstance(key, int) or isinstance(key, bool):
            raise ValueError("bad key in cursor")
        if not isinstance(id_, str) or not isinstance(backward, bool):
            raise ValueError("bad cursor")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ProcessorError(BAD_CURSOR) from None
    return key, id_, backward


def _beyond(keyset: Keyset, key: Any, id_: str, descending: bool) -> ColumnElement[bool]:
    """Rows after (key, id) in the given direction; the leading range lets any planner seek."""
    if descending:
        return and_(
            keyset.key <= key, or_(keyset.key < key, and_(keyset.key == key, keyset.id < id_))
        )
    return and_(keyset.key >= key, or_(keyset.key > key, and_(keyset.key == key, keyset.id > id_)))


async def fetch_page(
    session: AsyncSession,
    stmt: Select[M],
    keyset: Keyset,
    cursor: str | None,
    limit: int,
    *,
    any_of: Sequence[ColumnElement[bool]] | None = None,
) -> tuple[list[M], str | None, str | None]:
    """A page after (next) or before (prev) the row a cursor names.

    Pages are anchored on a row, not an offset: rows arriving meanwhile never shift a page, and
    going back from page 2 gives exactly the rows page 1 showed. ``any_of`` runs one query per
    condition, each a seek on its own index, and merges them: an OR would make the database
    gather and sort every match.
    """
    window = PageWindow(keyset, cursor, limit)
    stmt = window.query(stmt)
    if any_of is None:
        rows = list((await session.scalars(stmt)).all())
    else:
        found: dict[str, M] = {}
        for condition in any_of:
            for row in await session.scalars(stmt.where(condition)):
                found[getattr(row, keyset.id.key)] = row
        rows = sorted(
            found.values(),
            key=lambda row: (keyset.key_of(row), getattr(row, keyset.id.key)),
            reverse=window.descending,
        )[: window.limit + 1]
    return window.page(rows)


class PageWindow:
    """One page's bounds in a keyset order: the query that reads its rows (and one more, to know
    whether there is a next page), and the page and cursors made of what it read."""

    def __init__(self, keyset: Keyset, cursor: str | None, limit: int) -> None:
        self.keyset = keyset
        self.cursor = cursor
        self.limit = max(1, min(limit, MAX_PAGE))
        self.backward = False
        self._after: tuple[Any, str] | None = None
        if cursor is not None:
            key, id_, self.backward = decode_cursor(keyset, cursor)
            self._after = (key, id_)
        self.descending = keyset.descending != self.backward

    def query(self, stmt: Select[M]) -> Select[M]:
        keyset = self.keyset
        if self._after is not None:
            stmt = stmt.where(_beyond(keyset, *self._after, self.descending))
        order = (
            (keyset.key.desc(), keyset.id.desc())
            if self.descending
            else (keyset.key.asc(), keyset.id.asc())
        )
        return stmt.order_by(*order).limit(self.limit + 1)

    def page(self, rows: list[M]) -> tuple[list[M], str | None, str | None]:
        keyset, limit = self.keyset, self.limit
        more = len(rows) > limit
        rows = rows[:limit]
        if self.backward:
            rows.reverse()
        has_next = True if self.backward else more
        has_prev = more if self.backward else self.cursor is not None
        next_cursor = encode_cursor(keyset, rows[-1], backward=False) if rows and has_next else None
        prev_cursor = encode_cursor(keyset, rows[0], backward=True) if rows and has_prev else None
        return rows, next_cursor, prev_cursor


TRANSACTION_ORDERS = {
    HistorySort.NEWEST: Keyset("newest", T.created_at, T.id, descending=True),
    HistorySort.OLDEST: Keyset("oldest", T.created_at, T.id, descending=False),
    HistorySort.AMOUNT: Keyset("amount", T.amount_minor, T.id, descending=True),
}
DISPUTE_ORDER = Keyset("respond_by", SandboxDispute.respond_by, SandboxDispute.id, descending=False)
RETURN_ORDER = Keyset("returns", SandboxReturn.created_at, SandboxReturn.id, descending=True)
WITHDRAWAL_ORDER = Keyset(
    "withdrawals", SandboxWithdrawal.created_at, SandboxWithdrawal.id, descending=True
)
