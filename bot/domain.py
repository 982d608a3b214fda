"""Domain types shared by processors, services and blocks: plain data, no I/O, money in minor units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot.evidence import DisputeEvidence

if TYPE_CHECKING:
    from bot.acceptance import DisputeAcceptanceInfo
    from bot.bookkeeping import ChecklistInfo

T = TypeVar("T")

CURRENCY_EXPONENT = {"JPY": 0, "KRW": 0}


@dataclass(frozen=True, order=True)
class Money:
    """An amount in the currency's minor units (cents); never a float."""

    minor: int
    currency: str = "USD"

    @property
    def exponent(self) -> int:
        return CURRENCY_EXPONENT.get(self.currency.upper(), 2)

    @classmethod
    def parse(cls, text: str, currency: str = "USD") -> Money:
        """Read a positive decimal amount such as ``125.50``; reject what a person did not mean."""
        cleaned = text.strip().replace(",", "").lstrip("$")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not an amount (use a number such as 125.50)") from None
        if not value.is_finite() or value <= 0:
            raise ValueError(f"the amount must be more than zero, not {text}")
        exponent = CURRENCY_EXPONENT.get(currency.upper(), 2)
        scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{text} has more decimal places than {currency} allows")
        return cls(int(scaled), currency.upper())

    def __str__(self) -> str:
        """``1,234.50 USD``: in whole integers (a Decimal and its format cost three times as
        much, and every card shows amounts)."""
        minor, currency = self.minor, self.currency
        sign = "-" if minor < 0 else ""
        exponent = CURRENCY_EXPONENT.get(currency.upper(), 2)
        if exponent == 0:
            return f"{sign}{abs(minor):,} {currency}"
        whole, part = divmod(abs(minor), 10**exponent)
        return f"{sign}{whole:,}.{part:0{exponent}d} {currency}"

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError("cannot add amounts in different currencies")
        return Money(self.minor + other.minor, self.currency)


class PaymentKind(StrEnum):
    SALE = "sale"
    AUTHORIZATION = "authorization"
    REFUND = "refund"


class MethodType(StrEnum):
    CARD = "card"
    ACH = "ach"


class Account(StrEnum):
    OPERATING = "operating"
    TRUST = "trust"


class TransactionStatus(StrEnum):
    AUTHORIZED = "authorized"  # an authorization never captured
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETURNED = "returned"
    VOIDED = "voided"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DisputeStatus(StrEnum):
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"
    ACCEPTED = "accepted"
    CLOSED = "closed"  # no more responses accepted, and the processor names no winner

    @property
    def is_open(self) -> bool:
        return self in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW)

    @property
    def said(self) -> str:
        """The status in a sentence: "under review"."""
        return self.value.replace("_", " ")


class WithdrawalStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"  # paid, then sent back by the firm's bank


class HistorySort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    AMOUNT = "amount"


@dataclass(frozen=True)
class PaymentMethod:
    """Brand and last four only: a full card or account number never enters the bot."""

    type: MethodType
    last4: str
    brand: str | None = None

    def __post_init__(self) -> None:
        if not (len(self.last4) == 4 and self.last4.isdigit()):
            raise ValueError("last4 must be exactly four digits")

    def __str__(self) -> str:
        label = (self.brand or "card").title() if self.type is MethodType.CARD else "ACH"
        return f"{label} •••• {self.last4}"


@dataclass(frozen=True)
class LineItem:
    """A payment item: what the payment paid for, usually an invoice of the matter."""

    description: str
    amount: Money


@dataclass(frozen=True)
class Refund:
    id: str
    transaction_id: str
    amount: Money
    status: RefundStatus
    created_at: datetime
    settled_at: datetime | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class DisputeStage:
    """The stage a processor names a dispute's case in (its cycle), and what an answer sent now
    asks for; ``answer`` is None while nothing can be sent."""

    name: str
    answer: str | None = None


@dataclass(frozen=True)
class Dispute:
    id: str
    transaction_id: str
    amount: Money
    status: DisputeStatus
    reason: str
    network_reason_code: str
    respond_by: datetime
    created_at: datetime
    matter_id: str | None = None
    evidence_submitted_at: datetime | None = None
    stage: DisputeStage | None = None  # named by processors with stages (Payrix's cycles)


@dataclass(frozen=True)
class Transaction:
    id: str
    kind: PaymentKind
    status: TransactionStatus
    amount: Money
    method: PaymentMethod
    created_at: datetime
    matter_id: str | None = None
    account: Account = Account.OPERATING
    customer_name: str | None = None
    description: str | None = None
    items: tuple[LineItem, ...] = ()
    refunds: tuple[Refund, ...] = ()
    disputes: tuple[Dispute, ...] = ()
    original_id: str | None = None  # for a refund: the payment it refunds
    return_code: str | None = None
    refund_blocked: str | None = None  # why the processor will not refund it now, if it says


@dataclass(frozen=True)
class PaymentReturn:
    id: str
    transaction_id: str
    code: str
    amount: Money
    created_at: datetime
    matter_id: str | None = None


@dataclass(frozen=True)
class Withdrawal:
    """A payout to one bank account. ``account``: trust or operating, never both (None: the
    processor does not say); ``fees``: the processing and dispute fees it took, operating's."""

    id: str
    amount: Money
    status: WithdrawalStatus
    created_at: datetime
    arrives_at: datetime | None = None
    transaction_ids: tuple[str, ...] = ()
    account: Account | None = None
    fees: Money | None = None


@dataclass(frozen=True)
class AccountBalance:
    """One bank account's part of the balance. ``fees``: fees not yet taken, counted in
    operating's ``available`` (a trust account never pays a fee)."""

    account: Account
    available: Money
    pending: Money
    fees: Money | None = None


@dataclass(frozen=True)
class Balance:
    """``accounts``: trust and operating apart, where the processor tells them apart (empty:
    one figure for all, see the README's "Trust money")."""

    available: Money
    pending: Money
    next_withdrawal_at: datetime | None = None
    accounts: tuple[AccountBalance, ...] = ()


class EventType(StrEnum):
    PAYMENT_CREATED = "payment.created"
    REFUND_UPDATED = "refund.updated"
    DISPUTE_CREATED = "dispute.created"
    DISPUTE_UPDATED = "dispute.updated"
    RETURN_CREATED = "return.created"
    WITHDRAWAL_PAID = "withdrawal.paid"
    WITHDRAWAL_RETURNED = "withdrawal.returned"


@dataclass(frozen=True)
class ProcessorEvent:
    """One change at the processor; ``id`` is the processor's own, used to deduplicate."""

    id: str
    type: EventType
    object_id: str
    created_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventBatch:
    events: tuple[ProcessorEvent, ...]
    cursor: str | None  # pass back to read on from here; None when the feed has nothing yet


@dataclass(frozen=True)
class TransactionQuery:
    kind: PaymentKind | None = None
    sort: HistorySort = HistorySort.NEWEST
    search: str | None = None
    limit: int = 10
    cursor: str | None = None  # opaque keyset cursor from a previous Page


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None = None
    prev_cursor: str | None = None


@dataclass(frozen=True)
class DailyTotals:
    """One day of the firm's calendar at the processor, counts and minor units: what reports and
    the dashboard add.

    ``payments``: sales and captured authorizations made that day (succeeded, pending, or since
    returned), ``pending_minor`` the part not settled yet; ``refunds``: refunds made that day,
    failed ones left out; ``disputes``: opened that day, ``disputes_lost_minor`` the part since
    lost or accepted; ``returns``: ACH payments sent back that day.
    """

    day: date
    currency: str = "USD"
    payments: int = 0
    payments_minor: int = 0
    pending_minor: int = 0
    refunds: int = 0
    refunds_minor: int = 0
    disputes: int = 0
    disputes_minor: int = 0
    disputes_lost_minor: int = 0
    returns: int = 0
    returns_minor: int = 0


@dataclass(frozen=True)
class PortalAccount:
    """A portal user: the portal's own list, separate from Slack membership."""

    username: str
    full_name: str
    email: str
    role: str
    active: bool
    slack_user_id: str | None


class Source(StrEnum):
    """Where an audited attempt came from."""

    COMMAND = "slack_command"
    BUTTON = "slack_button"
    MODAL = "slack_modal"
    EVENT = "slack_event"
    CLI = "cli"
    WEBHOOK = "webhook"
    SYSTEM = "system"


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: datetime
    actor_username: str | None
    actor_slack_id: str | None
    actor_role: str | None
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    reason: str | None
    source: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class AuditPage:
    lines: tuple[AuditLine, ...]
    next_before_id: int | None


@dataclass(frozen=True)
class UserPage:
    users: tuple[PortalAccount, ...]
    page: int
    has_next: bool


# The longest reason a person may give for a request or a rejection (services/approvals.py).
REASON_MAX = 500


class RefundState(StrEnum):
    REQUESTED = "requested"
    AWAITING_SECOND = "awaiting_second"  # one of two approvals given (bot/policy.py)
    APPROVED = "approved"
    REJECTED = "rejected"
    SUBMITTING = "submitting"
    PENDING = "pending"  # accepted by the processor, settling in 1-2 business days
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"  # by its requester, before a decision
    EXPIRED = "expired"  # undecided for PAYBOT_APPROVAL_EXPIRE_HOURS


@dataclass(frozen=True, kw_only=True)
class Asked:
    """What every four-eyes request carries (services/approvals.py), whatever it asks for: who
    asked and when, the rule it was opened under, who decided and why it was refused or failed."""

    requester_username: str
    requester_slack_id: str
    created_at: datetime
    approval_rule: str | None = None  # bot.policy.Rule; None: one approval
    decided_by_username: str | None = None
    decided_by_slack_id: str | None = None
    rejection_reason: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class RefundRequestInfo(Asked):
    id: str
    transaction_id: str
    amount: Money
    account: Account
    matter_id: str | None
    reason: str
    state: RefundState
    processor_refund_id: str | None = None
    approval_channel: str | None = None
    approval_ts: str | None = None
    first_approver_username: str | None = None
    first_approver_slack_id: str | None = None
    # The bank day (the firm's calendar) the refund is expected to have settled by; set by
    # Refunds.get, which knows the firm's zone.
    expected_by: date | None = None


class ResponseState(StrEnum):
    DRAFTED = "drafted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


@dataclass(frozen=True)
class DisputeResponseInfo(Asked):
    id: str
    dispute_id: str
    evidence: DisputeEvidence
    state: ResponseState
    draft_channel: str | None = None
    draft_ts: str | None = None
    documents: tuple[str, ...] = ()  # the names of the documents kept with it, in order


@dataclass(frozen=True)
class DisputeThreadInfo:
    dispute_id: str
    transaction_id: str
    matter_id: str | None
    status: DisputeStatus
    respond_by: datetime
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    stage: str | None = None  # the stage the thread last showed (None: not known)


@dataclass(frozen=True)
class Notice:
    """A message owed to Slack with what it tells of, loaded by services/notices.py and rendered
    by blocks/notices.py. ``kind`` is an ids.NoticeKind; ``payload`` what was recorded with it."""

    kind: str
    object_id: str
    payload: Mapping[str, Any]
    now: datetime
    dispute: Dispute | None = None
    matter_id: str | None = None
    payment_return: PaymentReturn | None = None
    refund: RefundRequestInfo | None = None
    response: DisputeResponseInfo | None = None
    checklist: ChecklistInfo | None = None
    account: Account | None = None  # the payment's, for a dispute or a return: trust is a debit
    ask_by: date | None = None  # a dispute's: the firm's own date for its response
    acceptance: DisputeAcceptanceInfo | None = None  # bot/acceptance.py
