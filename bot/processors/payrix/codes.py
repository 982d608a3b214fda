"""Payrix's code tables: txn types and statuses, payment methods, chargeback cycles, batches."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import MethodType, PaymentKind, RefundStatus, TransactionStatus, WithdrawalStatus

DEFAULT_CURRENCY = "USD"

# ---------------------------------------------------------------------------------------------
# Code tables (Payrix API reference: txnType, txnStatus, payment method, chargeback cycle)


@dataclass(frozen=True)
class TxnType:
    kind: PaymentKind
    method: MethodType
    label: str


TXN_TYPES: dict[int, TxnType] = {
    1: TxnType(PaymentKind.SALE, MethodType.CARD, "card sale"),
    2: TxnType(PaymentKind.AUTHORIZATION, MethodType.CARD, "card authorization"),
    3: TxnType(PaymentKind.SALE, MethodType.CARD, "capture of an authorization"),
    4: TxnType(PaymentKind.AUTHORIZATION, MethodType.CARD, "reversal of an authorization"),
    5: TxnType(PaymentKind.REFUND, MethodType.CARD, "card refund"),
    7: TxnType(PaymentKind.SALE, MethodType.ACH, "eCheck sale"),
    8: TxnType(PaymentKind.REFUND, MethodType.ACH, "eCheck refund"),
    11: TxnType(PaymentKind.SALE, MethodType.ACH, "eCheck redeposit"),
    12: TxnType(PaymentKind.AUTHORIZATION, MethodType.ACH, "eCheck account verification"),
    14: TxnType(PaymentKind.AUTHORIZATION, MethodType.CARD, "incremental authorization"),
}
CARD_REFUND, ECHECK_REFUND = 5, 8
REFUND_TYPES = (CARD_REFUND, ECHECK_REFUND)
REVERSAL = 4
AUTH_TYPES = (2, 12, 14)
ECHECK_TYPES = (7, 8, 11, 12)
# What a type 5 or 8 may reference: Payrix's txn type table says a refund is "of a prior capture
# or sale"; authorizations (2, 14) are reversed (type 4) or captured first, never refunded.
REFUNDABLE_TYPES = (1, 3, 7, 11)  # txn-type-enum.md: type 5 "refunds a prior Capture or Sale"
ECHECK_SALES = (7, 11)
SALE_TYPES = (1, 3, 7, 11)  # what a day's payments count: sales and captures

PENDING, APPROVED, FAILED, CAPTURED, SETTLED, RETURNED = 0, 1, 2, 3, 4, 5
TXN_STATUSES = {
    PENDING: "pending",
    APPROVED: "approved",
    FAILED: "failed",
    CAPTURED: "captured",
    SETTLED: "settled",
    RETURNED: "returned",
}
REFUNDABLE_STATUSES = (CAPTURED, SETTLED)  # Payrix refunds captured or settled payments only

# A payment's status. Approved (1) means authorized and not yet captured: nothing to refund yet
# (Payrix reverses it instead), which is what AUTHORIZED tells the refund rules.
PAYMENT_STATUS = {
    PENDING: TransactionStatus.PENDING,
    APPROVED: TransactionStatus.AUTHORIZED,
    FAILED: TransactionStatus.FAILED,
    CAPTURED: TransactionStatus.SUCCEEDED,
    SETTLED: TransactionStatus.SUCCEEDED,
    RETURNED: TransactionStatus.RETURNED,
}
# An eCheck is money that has not arrived until Payrix funds it (``funded``): Payrix warns it can
# be returned even after it was captured and settled, so until then it shows as pending
# (Payrix, "Refunding & voiding transactions": "confirm the original eCheck payment was funded
# before they issue a refund").
ECHECK_UNFUNDED = TransactionStatus.PENDING
REFUND_TXN_STATUS = {
    PENDING: TransactionStatus.PENDING,
    APPROVED: TransactionStatus.PENDING,
    FAILED: TransactionStatus.FAILED,
    CAPTURED: TransactionStatus.PENDING,
    SETTLED: TransactionStatus.SUCCEEDED,
    RETURNED: TransactionStatus.RETURNED,
}
REFUND_STATUS = {
    PENDING: RefundStatus.PENDING,
    APPROVED: RefundStatus.PENDING,
    FAILED: RefundStatus.FAILED,
    CAPTURED: RefundStatus.PENDING,
    SETTLED: RefundStatus.SUCCEEDED,
    RETURNED: RefundStatus.FAILED,
}

# payment.method (and chargeback.paymentMethod)
METHODS: dict[int, tuple[MethodType, str | None]] = {
    1: (MethodType.CARD, "amex"),
    2: (MethodType.CARD, "visa"),
    3: (MethodType.CARD, "mastercard"),
    4: (MethodType.CARD, "diners club"),
    5: (MethodType.CARD, "discover"),
    6: (MethodType.CARD, "paypal"),
    7: (MethodType.CARD, "debit card"),
    8: (MethodType.ACH, None),  # checking
    9: (MethodType.ACH, None),  # savings
    10: (MethodType.ACH, None),  # corporate checking
    11: (MethodType.ACH, None),  # corporate savings
    12: (MethodType.CARD, "gift card"),
    13: (MethodType.CARD, "ebt card"),
    14: (MethodType.CARD, "wic card"),
}

# Chargebacks: ``status`` open / closed / won / lost, and ``cycle`` the stage it is in
# (eventsprout/payrix doc/models/chargebacks-response.md, Payrix's own cycle and status texts).
RESPONSE_CYCLES = ("retrieval", "first")
PRE_ARBITRATION_CYCLES = ("preArbitration", "issuerDeclinedPreArbitration")
COMPLIANCE_CYCLES = ("preCompliance", "compliance")
ACTION_CYCLES = (*RESPONSE_CYCLES, *PRE_ARBITRATION_CYCLES, *COMPLIANCE_CYCLES)
REVIEW_CYCLES = (
    "representment",
    "arbitration",
    "responseToIssuerPreArbitration",
    "merchantDeclinedPreArbitration",
    "arbitrationSplit",
)
WON_CYCLES = ("reversal", "arbitrationWon", "issuerAcceptPreArbitration")
LOST_CYCLES = ("arbitrationLost", "merchantAcceptedPreArbitration")
KNOWN_CYCLES = (*ACTION_CYCLES, *REVIEW_CYCLES, *WON_CYCLES, *LOST_CYCLES, "closed")
CHARGEBACK_STATUSES = ("open", "closed", "won", "lost")
# Each cycle as the portal names it, from Payrix's cycle texts (chargebacks-response.md "cycle").
CYCLE_NAMES = {
    "retrieval": "Retrieval request",
    "first": "First chargeback",
    "representment": "Representment",
    "preArbitration": "Pre-arbitration",
    "issuerDeclinedPreArbitration": "Pre-arbitration declined by the issuer",
    "responseToIssuerPreArbitration": "Pre-arbitration response with the issuer",
    "merchantDeclinedPreArbitration": "Pre-arbitration declined by the firm",
    "merchantAcceptedPreArbitration": "Pre-arbitration accepted by the firm",
    "issuerAcceptPreArbitration": "Pre-arbitration accepted by the issuer",
    "arbitration": "Arbitration",
    "arbitrationSplit": "Arbitration split",
    "arbitrationWon": "Arbitration won",
    "arbitrationLost": "Arbitration lost",
    "reversal": "Reversed",
    "preCompliance": "Pre-compliance",
    "compliance": "Compliance",
    "closed": "Closed",
}

REPRESENT = "represent"
REQUEST_PRE_ARBITRATION = "requestPreArbitration"
REQUEST_ARBITRATION = "requestArbitration"
ACCEPT_LIABILITY = "acceptLiability"
UNACCEPT = "unaccept"

# The one place that says which chargebackMessage contests a chargeback in each cycle Payrix
# marks ``actionable``. Payrix's pages and the clients disagree here:
# - retrieval / first: ``represent`` (outlawpractice/payrix-rs; in the recorded responses a
#   ``represent`` moved the case, while a ``respondToDispute`` left it open and actionable);
# - representment, when Payrix marks it actionable again (the issuer declined it): the next
#   step is pre-arbitration, ``requestPreArbitration``;
# - preArbitration / issuerDeclinedPreArbitration: Payrix's cycle text says "no longer
#   representable. Merchant must choose to accept or arbitrate with the card brand", so the
#   contest is ``requestArbitration`` (not ``respondToPreArbitration``, which payrix-rs and
#   Payrix's "Dispute Response Options" page would send with more evidence).
# Public sources do not settle which one Payrix's processor acts on in each cycle: a firm checks
# these four on its test account (README, Payrix section).
CONTEST_BY_CYCLE: dict[str, tuple[str, str]] = {
    "retrieval": (REPRESENT, "representment"),
    "first": (REPRESENT, "representment"),
    "representment": (REQUEST_PRE_ARBITRATION, "pre-arbitration"),
    "preArbitration": (REQUEST_ARBITRATION, "arbitration"),
    "issuerDeclinedPreArbitration": (REQUEST_ARBITRATION, "arbitration"),
}
CONTESTS = (
    REPRESENT,
    REQUEST_PRE_ARBITRATION,
    REQUEST_ARBITRATION,
    "respond",
    "respondToDispute",
    "respondToPreArbitration",
    "requestResolutionToPreArbitration",
    "createArbitration",
    "createPreArbitration",
)
DEAD_MESSAGES = ("failed", "denied")  # a message Payrix refused does not count

BATCH_STATUS = {
    "open": WithdrawalStatus.PENDING,
    "closed": WithdrawalStatus.PENDING,
    "processed": WithdrawalStatus.PAID,
}


def response_type(cycle: str | None) -> tuple[str, str] | None:
    """The chargebackMessage type (and its name) that contests a chargeback in this cycle."""
    return CONTEST_BY_CYCLE.get((cycle or "").strip())
