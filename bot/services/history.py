"""Payment history: the portal's transaction list, by kind, sorted, searched, ten to a page.

Pages come from the processor's keyset cursors, so a page costs the same on page one and page
ten thousand, and payments arriving meanwhile never shift a page. Searching is allowed here (by
matter, customer, last four, amount or the start of an id); refunds and lookups never search.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import UTC_CLOCK, FirmClock
from bot.db.changes import announce
from bot.db.engine import SessionFactory
from bot.db.models import HistoryColumns
from bot.domain import HistorySort, PaymentKind, PortalAccount, TransactionQuery
from bot.errors import FormErrors, InvalidInput
from bot.freshness import SQLITE_TTL_SECONDS, Freshness, Recent
from bot.ids import BlockId
from bot.overview import DEFAULT_COLUMNS, HistoryColumn, HistoryFilter, HistoryView
from bot.pan import has_pan
from bot.processors.gateway import Gateway

PAGE_SIZE = 10
SEARCH_MAX = 100
KINDS = {
    "sales": PaymentKind.SALE,
    "sale": PaymentKind.SALE,
    "authorizations": PaymentKind.AUTHORIZATION,
    "authorization": PaymentKind.AUTHORIZATION,
    "auths": PaymentKind.AUTHORIZATION,
    "refunds": PaymentKind.REFUND,
    "refund": PaymentKind.REFUND,
}
SORT_PREFIX = "sort:"


def parse_history(text: str) -> HistoryFilter:
    """``[sales|authorizations|refunds] [sort:newest|oldest|amount] [search text]``.

    A kind counts only before the search text starts, so a search can still contain the word.
    """
    kind: PaymentKind | None = None
    sort = HistorySort.NEWEST
    words: list[str] = []
    for word in text.split():
        folded = word.casefold()
        if folded.startswith(SORT_PREFIX):
            try:
                sort = HistorySort(folded.removeprefix(SORT_PREFIX))
            except ValueError:
                raise InvalidInput(
                    f"`{word}` is not an order: use `sort:newest`, `sort:oldest` or `sort:amount`."
                ) from None
        elif kind is None and not words and folded in KINDS:
            kind = KINDS[folded]
        else:
            words.append(word)
    search = " ".join(words) or None
    if search is not None and has_pan(search):
        raise InvalidInput(
            "That looks like a card number: never type card numbers into Slack. "
            "Search by the last four digits instead."
        )
    if search is not None and len(search) > SEARCH_MAX:
        raise InvalidInput(f"Keep the search to {SEARCH_MAX} characters.")
    return HistoryFilter(kind, sort, search)


class History:
    def __init__(
        self,
        sessions: SessionFactory,
        gateway: Gateway,
        firm: FirmClock = UTC_CLOCK,
        freshness: Freshness | None = None,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._firm = firm
        self._freshness = freshness or Freshness(SQLITE_TTL_SECONDS)
        # Each person's columns, so a page costs the processor's read and no read of ours.
        self._columns: Recent[str, tuple[HistoryColumn, ...]] = Recent(self._freshness)

    async def page(self, actor: PortalAccount, wanted: HistoryFilter) -> HistoryView:
        """The page that starts at ``wanted.cursor`` (the first page without one)."""
        page = await self._gateway.list_transactions(
            TransactionQuery(
                kind=wanted.kind,
                sort=wanted.sort,
                search=wanted.search,
                limit=PAGE_SIZE,
                cursor=wanted.cursor,
            )
        )
        columns = await self.columns(actor)
        return HistoryView(
            wanted, page.items, columns, page.next_cursor, page.prev_cursor, self._firm.zone
        )

    async def columns(self, actor: PortalAccount) -> tuple[HistoryColumn, ...]:
        known, cached = self._columns.get(actor.username)
        if known and cached is not None:
            return cached
        generation = self._columns.begin()
        async with self._sessions() as session:
            chosen = await session.scalar(
                select(HistoryColumns.columns).where(HistoryColumns.username == actor.username)
            )
        shown = tuple(column for column in HistoryColumn if column.value in (chosen or ()))
        shown = shown or DEFAULT_COLUMNS
        self._columns.put(actor.username, shown, generation)
        return shown

    async def choose_columns(
        self, actor: PortalAccount, chosen: Iterable[str]
    ) -> tuple[HistoryColumn, ...]:
        """Remember the columns (in the table's own order); one at least."""
        wanted = set(chosen)
        columns = tuple(column for column in HistoryColumn if column.value in wanted)
        if not columns:
            raise FormErrors({BlockId.HISTORY_COLUMNS: "Choose at least one column."})
        values = [column.value for column in columns]
        async with self._sessions.begin() as session:
            postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
            insert = pg_insert if postgres else sqlite_insert
            statement = insert(HistoryColumns).values(
                username=actor.username, columns=values, updated_at=self._firm.now()
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[HistoryColumns.username],
                    set_={
                        "columns": statement.excluded.columns,
                        "updated_at": statement.excluded.updated_at,
                    },
                )
            )
            await announce(session)  # other processes drop their cached columns at the commit
        self._freshness.forget()
        return columns
