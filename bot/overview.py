"""What the portal's views show, as plain data: history pages, disputes with days left, returns with
their meanings, withdrawals, the dashboard and reports. Services build these; blocks render them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from typing import Any, Generic, TypeVar

from bot.bookkeeping import ChecklistInfo
from bot.domain import (
    Balance,
    DailyTotals,
    Dispute,
    HistorySort,
    Money,
    PaymentKind,
    PaymentReturn,
    PortalAccount,
    RefundRequestInfo,
    Transaction,
    Withdrawal,
)
from bot.errors import InvalidInput

T = TypeVar("T")

STALE = "That button is from an older message; run the command again."


class HistoryColumn(StrEnum):
    """The fields a person may choose to see in the history, as the portal lets them."""

    DATE = "date"
    AMOUNT = "amount"
    STATUS = "status"
    TYPE = "type"
    METHOD = "method"
    MATTER = "matter"
    CUSTOMER = "customer"
    ACCOUNT = "account"


DEFAULT_COLUMNS = (
    HistoryColumn.DATE,
    HistoryColumn.AMOUNT,
    HistoryColumn.STATUS,
    HistoryColumn.TYPE,
    HistoryColumn.METHOD,
    HistoryColumn.MATTER,
)


@dataclass(frozen=True)
class HistoryFilter:
    """What `/pay history` was asked for: a kind (the portal's Sales / Authorizations / Refunds
    buttons), an order and a search; ``cursor`` is where the page shown starts (None: the first).
    """

    kind: PaymentKind | None = None
    sort: HistorySort = HistorySort.NEWEST
    search: str | None = None
    cursor: str | None = None

    def at(self, cursor: str | None) -> HistoryFilter:
        return HistoryFilter(self.kind, self.sort, self.search, cursor)

    def encode(self) -> str:
        """For a button's value (at most 2,000 characters: searches are capped well below)."""
        state = {"k": self.kind, "s": self.sort, "q": self.search, "c": self.cursor}
        return json.dumps({key: value for key, value in state.items() if value})

    @classmethod
    def decode(cls, text: str | None) -> HistoryFilter:
        state = _state(text)
        try:
            kind = PaymentKind(state["k"]) if state.get("k") else None
            sort = HistorySort(state.get("s") or HistorySort.NEWEST)
        except ValueError:
            raise InvalidInput(STALE) from None
        return cls(kind, sort, _text(state.get("q")), _text(state.get("c")))


@dataclass(frozen=True)
class HistoryView:
    filter: HistoryFilter
    page: tuple[Transaction, ...]
    columns: tuple[HistoryColumn, ...]
    next_cursor: str | None = None
    prev_cursor: str | None = None
    zone: tzinfo = UTC  # the firm's clock, for the dates shown


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of a list, with the cursor it was read from, so a button can show it again."""

    items: tuple[T, ...]
    cursor: str | None = None
    next_cursor: str | None = None
    prev_cursor: str | None = None
    zone: tzinfo = UTC  # the firm's clock, for the dates shown


@dataclass(frozen=True)
class DisputeLine:
    dispute: Dispute
    days_left: int | None  # whole days to respond; negative once overdue; None when closed


@dataclass(frozen=True)
class DisputeList:
    open_only: bool
    lines: Listing[DisputeLine]


@dataclass(frozen=True)
class ReturnLine:
    payment_return: PaymentReturn
    meaning: str  # what the NACHA code means


@dataclass(frozen=True)
class WithdrawalsView:
    balance: Balance
    next_amount: Money  # what the next withdrawal is expected to pay: available and pending
    withdrawals: Listing[Withdrawal]
    expanded: str | None = None  # the withdrawal whose payments are shown
    payments: tuple[Transaction, ...] = ()
    more_payments: int = 0  # payments of the expanded withdrawal not listed


@dataclass(frozen=True)
class ListState:
    """A list button's value: which page (its cursor), and for withdrawals which one is open."""

    cursor: str | None = None
    open_only: bool = True
    expanded: str | None = None

    def encode(self) -> str:
        state = {"c": self.cursor, "o": self.open_only, "x": self.expanded}
        return json.dumps({key: value for key, value in state.items() if value is not None})

    @classmethod
    def decode(cls, text: str | None) -> ListState:
        state = _state(text)
        return cls(_text(state.get("c")), state.get("o") is not False, _text(state.get("x")))


@dataclass(frozen=True)
class Volume:
    today: Money
    week: Money
    month: Money
    today_count: int = 0
    week_count: int = 0
    month_count: int = 0


@dataclass(frozen=True)
class RefundWork:
    """Refunds not finished: waiting for a manager, and approved but not settled yet."""

    awaiting_approval: tuple[RefundRequestInfo, ...]
    awaiting_count: int
    at_processor: tuple[RefundRequestInfo, ...]
    at_processor_count: int
    can_decide: bool  # the viewer may approve: show where to


@dataclass(frozen=True)
class Dashboard:
    """App Home. A panel is None when the viewer's role does not see it."""

    actor: PortalAccount
    as_of: datetime
    volume: Volume
    refunds: RefundWork | None
    disputes: tuple[DisputeLine, ...]
    more_disputes: bool
    returns: tuple[ReturnLine, ...]
    balance: Balance
    latest_withdrawal: Withdrawal | None
    can_report: bool
    # Open bookkeeping checklists and uncovered trust debits, oldest first, for those who may
    # tick them; the latest withdrawal of each account where the processor tells them apart.
    checklists: tuple[ChecklistInfo, ...] | None = None
    more_checklists: int = 0
    latest_withdrawals: tuple[Withdrawal, ...] = ()
    overdue_refunds: tuple[RefundRequestInfo, ...] = ()


@dataclass(frozen=True)
class ReportPeriod:
    start: date
    end: date  # exclusive
    label: str


@dataclass(frozen=True)
class Report:
    """A period's totals with every day in it (quiet days as zeros), and what follows from them."""

    period: ReportPeriod
    days: tuple[DailyTotals, ...]
    currency: str = "USD"
    zone: tzinfo = UTC  # the firm's clock: its days are the report's

    def _total(self, name: str) -> int:
        return sum(int(getattr(day, name)) for day in self.days)

    @property
    def payments(self) -> int:
        return self._total("payments")

    @property
    def volume(self) -> Money:
        return Money(self._total("payments_minor"), self.currency)

    @property
    def pending(self) -> Money:
        return Money(self._total("pending_minor"), self.currency)

    @property
    def refunds(self) -> int:
        return self._total("refunds")

    @property
    def refunded(self) -> Money:
        return Money(self._total("refunds_minor"), self.currency)

    @property
    def disputes(self) -> int:
        return self._total("disputes")

    @property
    def disputed(self) -> Money:
        return Money(self._total("disputes_minor"), self.currency)

    @property
    def disputes_lost(self) -> Money:
        return Money(self._total("disputes_lost_minor"), self.currency)

    @property
    def returns(self) -> int:
        return self._total("returns")

    @property
    def returned(self) -> Money:
        return Money(self._total("returns_minor"), self.currency)

    @property
    def net_settled(self) -> Money:
        return Money(sum(net_settled_minor(day) for day in self.days), self.currency)

    @property
    def refund_rate(self) -> float:
        """Refunded amount over volume (amounts)."""
        return _rate(self.refunded.minor, self.volume.minor)

    @property
    def dispute_rate(self) -> float:
        """Disputes over payments (counts), as the card networks measure it."""
        return _rate(self.disputes, self.payments)

    @property
    def return_rate(self) -> float:
        """Returns over payments (counts), as NACHA measures it."""
        return _rate(self.returns, self.payments)


def net_settled_minor(day: DailyTotals) -> int:
    """Settled payments less refunds, returns, and disputes lost or accepted."""
    return (
        day.payments_minor
        - day.pending_minor
        - day.refunds_minor
        - day.returns_minor
        - day.disputes_lost_minor
    )


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _state(text: str | None) -> dict[str, Any]:
    try:
        state = json.loads(text or "{}")
    except ValueError:
        raise InvalidInput(STALE) from None
    if not isinstance(state, dict):
        raise InvalidInput(STALE)
    return state


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
