"""Fixed domain objects the block snapshots render: fixed ids, dates and amounts, so a snapshot
changes only when a rendering does. Some carry hostile text (a ping, a fake status line, a card
number) so the snapshots show it escaped, quoted and masked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.acceptance import AcceptanceState, DisputeAcceptanceInfo
from bot.bookkeeping import ChecklistInfo, ChecklistKind, ChecklistStepInfo
from bot.digests import AccountDay, DailyDigest, Figure, OpenItem, WithdrawalLine
from bot.domain import (
    Account,
    AccountBalance,
    AuditLine,
    Balance,
    DailyTotals,
    Dispute,
    DisputeResponseInfo,
    DisputeStatus,
    LineItem,
    MethodType,
    Money,
    PaymentKind,
    PaymentMethod,
    PaymentReturn,
    PortalAccount,
    Refund,
    RefundRequestInfo,
    RefundState,
    RefundStatus,
    ResponseState,
    Transaction,
    TransactionStatus,
    UserPage,
    Withdrawal,
    WithdrawalStatus,
)
from bot.evidence import DisputeEvidence
from bot.overview import (
    DEFAULT_COLUMNS,
    Dashboard,
    DisputeLine,
    DisputeList,
    HistoryFilter,
    HistoryView,
    Listing,
    RefundWork,
    Report,
    ReportPeriod,
    ReturnLine,
    Volume,
    WithdrawalsView,
)

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")  # the firm's clock of the cases that name it
DAY = timedelta(days=1)
HOSTILE = "Paid twice <!channel>\n*Status:* ✅ Approved\ncard 4242 4242 4242 4242 `code`"


def person(username: str, role: str, *, active: bool = True) -> PortalAccount:
    return PortalAccount(
        username, username.title(), f"{username}@firm.com", role, active, f"U{username.upper()}"
    )


VIEWER, STAFF = person("vic", "viewer"), person("sam", "staff")
MANAGER, ADMIN = person("maria", "manager"), person("ada", "admin")

CARD = PaymentMethod(MethodType.CARD, "4242", "visa")
BANK = PaymentMethod(MethodType.ACH, "6789")
SALE = Transaction(
    id="txn_sale0000000000000001",
    kind=PaymentKind.SALE,
    status=TransactionStatus.SUCCEEDED,
    amount=Money(125050),
    method=CARD,
    created_at=NOW - 3 * DAY,
    matter_id="MAT-1001",
    customer_name="Dana Client",
    description="Retainer, November",
    items=(
        LineItem("Invoice 1001: retainer", Money(100000)),
        LineItem("Invoice 1002: filing fees", Money(25050)),
    ),
)
TRUST_SALE = replace(
    SALE,
    id="txn_trust000000000000001",
    method=BANK,
    account=Account.TRUST,
    status=TransactionStatus.PENDING,
    customer_name=None,
    description=None,
    items=(),
)
RETURNED = replace(
    TRUST_SALE, id="txn_return00000000000001", status=TransactionStatus.RETURNED, return_code="R01"
)
REFUND_TXN = replace(
    SALE,
    id="txn_refund00000000000001",
    kind=PaymentKind.REFUND,
    amount=Money(2500),
    created_at=NOW - DAY,
    customer_name=None,
    description=None,
    items=(),
    original_id=SALE.id,
)

DISPUTE = Dispute(
    id="dp_0000000000000000001",
    transaction_id=SALE.id,
    amount=Money(125050),
    status=DisputeStatus.NEEDS_RESPONSE,
    reason="fraudulent",
    network_reason_code="10.4",
    respond_by=NOW + 5 * DAY,
    created_at=NOW - 2 * DAY,
    matter_id="MAT-1001",
)
OVERDUE = replace(DISPUTE, id="dp_0000000000000000002", respond_by=NOW - 2 * DAY)
DUE_TODAY = replace(DISPUTE, id="dp_0000000000000000003", respond_by=NOW, matter_id=None)
CLOSED = replace(DISPUTE, id="dp_0000000000000000004", status=DisputeStatus.LOST)
DISPUTED_SALE = replace(
    SALE,
    refunds=(Refund("re_0000000000000000001", SALE.id, Money(2500), RefundStatus.PENDING, NOW),),
    disputes=(DISPUTE,),
)

RETURN = PaymentReturn(
    "rt_0000000000000000001", RETURNED.id, "R01", Money(50000), NOW - DAY, "MAT-2002"
)
RETURN_LINE = ReturnLine(RETURN, "Insufficient funds")

EVIDENCE = DisputeEvidence(
    summary="The client signed the engagement letter and received the services.",
    product_description="Legal services: retainer for November.",
    service_date="2026-11-01",
    other=HOSTILE,
)
RESPONSE = DisputeResponseInfo(
    id="resp_000000000000000001",
    dispute_id=DISPUTE.id,
    evidence=EVIDENCE,
    state=ResponseState.DRAFTED,
    requester_username=STAFF.username,
    requester_slack_id="USAM",
    created_at=NOW - DAY,
)
RESPONSES = {
    "drafted": RESPONSE,
    "approved": replace(RESPONSE, state=ResponseState.APPROVED, decided_by_username="maria"),
    "rejected": replace(
        RESPONSE, state=ResponseState.REJECTED, rejection_reason="Attach the signed letter."
    ),
    "submitted": replace(RESPONSE, state=ResponseState.SUBMITTED, decided_by_username="maria"),
    "failed": replace(RESPONSE, state=ResponseState.FAILED, failure_reason="Evidence too large."),
    "withdrawn": replace(RESPONSE, state=ResponseState.WITHDRAWN),
    "expired": replace(RESPONSE, state=ResponseState.EXPIRED),
}

REQUEST = RefundRequestInfo(
    id="rr_0000000000000000001",
    transaction_id=SALE.id,
    amount=Money(125050),
    account=Account.OPERATING,
    matter_id="MAT-1001",
    reason=HOSTILE,
    state=RefundState.REQUESTED,
    requester_username=STAFF.username,
    requester_slack_id="USAM",
    created_at=NOW - timedelta(hours=2),
)
DECIDED = replace(REQUEST, decided_by_username="maria", decided_by_slack_id="UMARIA")
SENT = replace(DECIDED, processor_refund_id="re_0000000000000000002")
REQUESTS = {
    "pending": REQUEST,
    "approved": replace(DECIDED, state=RefundState.APPROVED),
    "rejected": replace(DECIDED, state=RefundState.REJECTED, rejection_reason="Not a duplicate."),
    "submitting": replace(DECIDED, state=RefundState.SUBMITTING),
    "at_processor": replace(SENT, state=RefundState.PENDING),
    "succeeded": replace(SENT, state=RefundState.SUCCEEDED),
    "failed": replace(SENT, state=RefundState.FAILED, failure_reason="The card was closed."),
    "trust": replace(REQUEST, account=Account.TRUST, matter_id=None),
    "two_approvers_pending": replace(REQUEST, approval_rule="two_approvers"),
    "one_of_two": replace(
        REQUEST,
        approval_rule="two_approvers",
        state=RefundState.AWAITING_SECOND,
        first_approver_username="maria",
        first_approver_slack_id="UMARIA",
    ),
    "admin_rule": replace(REQUEST, approval_rule="admin"),
    "withdrawn": replace(REQUEST, state=RefundState.WITHDRAWN),
    "expired": replace(
        REQUEST,
        state=RefundState.EXPIRED,
        approval_rule="two_approvers",
        first_approver_username="maria",
        first_approver_slack_id="UMARIA",
    ),
}

AUDIT_LINES = (
    AuditLine(
        42, NOW, "maria", "UMARIA", "manager", "decide_refund", "refund", REQUEST.id,
        "done", None, "slack_button", {"state": "requested"}, {"state": "approved"},
    ),
    AuditLine(
        41, NOW - DAY, None, "USTRANGER", None, "lookup", "transaction", SALE.id,
        "denied", "You have no Payments Portal access: ask an admin.", "slack_command", None, None,
    ),
)  # fmt: skip

USERS = UserPage((ADMIN, MANAGER, person("old", "staff", active=False)), page=1, has_next=True)

HISTORY = HistoryView(HistoryFilter(), (SALE, TRUST_SALE, REFUND_TXN), DEFAULT_COLUMNS, "c2")
SEARCHED = HistoryFilter(PaymentKind.SALE, search="Dana", cursor="c2")
SEARCHED_PAGE = HistoryView(SEARCHED, (SALE,), DEFAULT_COLUMNS[:2], "c3", "c1")

BALANCE = Balance(Money(480000), Money(125050), NOW + DAY)
WITHDRAWAL = Withdrawal(
    "wd_0000000000000000001",
    Money(350000),
    WithdrawalStatus.PAID,
    NOW - 2 * DAY,
    NOW - DAY,
    (SALE.id, TRUST_SALE.id, "txn_more"),
)
PENDING_WITHDRAWAL = replace(
    WITHDRAWAL,
    id="wd_0000000000000000002",
    status=WithdrawalStatus.PENDING,
    arrives_at=None,
    transaction_ids=(SALE.id,),
)
WITHDRAWALS = WithdrawalsView(
    BALANCE,
    Money(605050),
    Listing((PENDING_WITHDRAWAL, WITHDRAWAL), cursor="c1", next_cursor="c2", prev_cursor="c0"),
    expanded=WITHDRAWAL.id,
    payments=(SALE, TRUST_SALE),
    more_payments=1,
)

NO_WITHDRAWALS = WithdrawalsView(Balance(Money(0), Money(0)), Money(0), Listing(()))

DISPUTES = DisputeList(
    True,
    Listing(
        (DisputeLine(OVERDUE, -2), DisputeLine(DUE_TODAY, 0), DisputeLine(DISPUTE, 5)),
        cursor="c1",
        next_cursor="c2",
        prev_cursor="c0",
    ),
)
ALL_DISPUTES = DisputeList(False, Listing((DisputeLine(CLOSED, None), DisputeLine(DISPUTE, 1))))

WORK = RefundWork(
    awaiting_approval=(REQUEST,),
    awaiting_count=3,
    at_processor=(REQUESTS["at_processor"],),
    at_processor_count=1,
    can_decide=True,
)
LINKS = {REQUEST.id: "https://firm.slack.com/archives/C0APPROVALS/p1794841200000100"}
BOARD = Dashboard(
    actor=MANAGER,
    as_of=NOW,
    volume=Volume(Money(125050), Money(480000), Money(1960000), 1, 4, 17),
    refunds=WORK,
    disputes=(DisputeLine(OVERDUE, -2), DisputeLine(DISPUTE, 5)),
    more_disputes=True,
    returns=(RETURN_LINE,),
    balance=BALANCE,
    latest_withdrawal=WITHDRAWAL,
    can_report=True,
)
QUIET_BOARD = replace(
    BOARD,
    actor=VIEWER,
    volume=Volume(Money(0), Money(0), Money(0)),
    refunds=None,
    disputes=(),
    more_disputes=False,
    returns=(),
    balance=Balance(Money(0), Money(0)),
    latest_withdrawal=None,
    can_report=False,
)

# Trust and operating apart: a balance per account, a withdrawal to each.
SPLIT_BALANCE = replace(
    BALANCE,
    accounts=(
        AccountBalance(Account.OPERATING, Money(180000), Money(25050), Money(4250)),
        AccountBalance(Account.TRUST, Money(300000), Money(100000)),
    ),
)
TRUST_WITHDRAWAL = replace(
    WITHDRAWAL, id="wd_0000000000000000003", account=Account.TRUST, transaction_ids=(TRUST_SALE.id,)
)
OPERATING_WITHDRAWAL = replace(
    WITHDRAWAL,
    id="wd_0000000000000000004",
    account=Account.OPERATING,
    amount=Money(96210),
    fees=Money(3790),
    transaction_ids=(SALE.id,),
)
SPLIT_WITHDRAWALS = replace(
    WITHDRAWALS,
    balance=SPLIT_BALANCE,
    withdrawals=Listing((OPERATING_WITHDRAWAL, TRUST_WITHDRAWAL)),
    expanded=None,
)

# Checklists: a trust refund's bookkeeping half done, a trust debit to cover, one completed.
TICKED = ChecklistStepInfo("reverse_invoice", "sam", "USAM", NOW - timedelta(hours=3))
TRUST_REFUND_CHECKLIST = ChecklistInfo(
    id="0c0ffee0000000000000000000000001",
    kind=ChecklistKind.REFUND,
    subject_id=REQUEST.id,
    transaction_id=TRUST_SALE.id,
    account=Account.TRUST,
    amount=Money(125050),
    matter_id="MAT-1001 <!channel>",
    steps=(
        TICKED,
        ChecklistStepInfo("trust_payment", "maria", "UMARIA", NOW - timedelta(hours=1)),
        ChecklistStepInfo("firm_deposit"),
        ChecklistStepInfo("bank_transfer"),
    ),
    opened_at=NOW - DAY,
    version=2,
)
OPERATING_REFUND_CHECKLIST = replace(
    TRUST_REFUND_CHECKLIST,
    id="0c0ffee0000000000000000000000002",
    account=Account.OPERATING,
    transaction_id=SALE.id,
    matter_id="MAT-1001",
    steps=(ChecklistStepInfo("reverse_invoice"),),
    version=0,
)
TRUST_DEBIT_CHECKLIST = ChecklistInfo(
    id="0c0ffee0000000000000000000000003",
    kind=ChecklistKind.CHARGEBACK,
    subject_id=DISPUTE.id,
    transaction_id=TRUST_SALE.id,
    account=Account.TRUST,
    amount=Money(210000),
    matter_id="MAT-2002",
    steps=tuple(ChecklistStepInfo(key) for key in ("cover_transfer", "cover_deposit", "reconcile")),
    opened_at=NOW,
    due=date(2026, 11, 16),
)
COVERED = replace(
    TRUST_DEBIT_CHECKLIST,
    kind=ChecklistKind.ACH_RETURN,
    steps=tuple(
        ChecklistStepInfo(step.key, "sam", "USAM", NOW + timedelta(hours=1))
        for step in TRUST_DEBIT_CHECKLIST.steps
    ),
    closed_at=NOW + timedelta(hours=1),
    version=3,
)
CHECKLIST_BOARD = replace(
    BOARD,
    balance=SPLIT_BALANCE,
    latest_withdrawals=(OPERATING_WITHDRAWAL, TRUST_WITHDRAWAL),
    checklists=(TRUST_REFUND_CHECKLIST, TRUST_DEBIT_CHECKLIST),
    more_checklists=2,
    overdue_refunds=(replace(REQUESTS["at_processor"], expected_by=date(2026, 11, 13)),),
)
CHECKLIST_LINKS = {
    TRUST_DEBIT_CHECKLIST.id: "https://firm.slack.com/archives/C0NOTIFY/p1794841200000200"
}

REPORT = Report(
    ReportPeriod(date(2026, 10, 17), date(2026, 11, 16), "last 30 days"),
    (
        DailyTotals(date(2026, 11, 2), payments=12, payments_minor=1500000, pending_minor=125050,
                    refunds=1, refunds_minor=25000, disputes=1, disputes_minor=125050,
                    disputes_lost_minor=125050),
        DailyTotals(date(2026, 11, 9), payments=8, payments_minor=980000, returns=1,
                    returns_minor=50000),
    ),
)  # fmt: skip
EMPTY_REPORT = Report(ReportPeriod(date(2026, 10, 1), date(2026, 11, 1), "2026-10"), ())


DIGEST = DailyDigest(
    day=date(2026, 12, 4),
    through=date(2026, 12, 6),
    zone="America/New_York",
    currency="USD",
    accounts=(
        AccountDay(
            Account.OPERATING,
            sales=Figure(2, 16_000),
            refunds=Figure(1, 25_000),
            disputes=Figure(1, 6_000),
        ),
        AccountDay(
            Account.TRUST,
            sales=Figure(3, 37_000),
            returns=Figure(1, 8_000),
            fees=Figure(0, 0),
            withdrawals=(WithdrawalLine("wd_trust_1", Money(29_000), "paid"),),
        ),
    ),
    unassigned_withdrawals=(WithdrawalLine("wd_<!channel>", Money(12_500), "pending"),),
    open_items=(
        OpenItem("Trust debit on `pay_1` *not covered*", "https://firm.slack.com/archives/C1/p1"),
        OpenItem("Bookkeeping for refund rr_1"),
    ),
)
ACCEPTANCE = DisputeAcceptanceInfo(
    id="da_0000000000000000001",
    dispute_id=DISPUTE.id,
    amount=Money(250000),
    state=AcceptanceState.REQUESTED,
    requester_username="meg",
    requester_slack_id="UMEG",
    created_at=NOW,
    approval_rule="one",
)
ACCEPTANCES = {
    "requested": ACCEPTANCE,
    "admin_rule": replace(ACCEPTANCE, approval_rule="admin"),
    "rejected": replace(
        ACCEPTANCE,
        state=AcceptanceState.REJECTED,
        decided_by_username="maria",
        decided_by_slack_id="UMARIA",
        rejection_reason="We have the signed letter.",
    ),
    "accepted": replace(
        ACCEPTANCE,
        state=AcceptanceState.ACCEPTED,
        decided_by_username="maria",
        decided_by_slack_id="UMARIA",
    ),
}
