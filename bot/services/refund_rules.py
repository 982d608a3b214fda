"""Whether a payment may be refunded, and why not: asked when a lookup decides to offer the Refund
button, when the refund modal opens, when it is submitted and again when a manager approves."""

from __future__ import annotations

from bot import refusals
from bot.domain import (
    PaymentKind,
    RefundStatus,
    Transaction,
    TransactionStatus,
)

REFUND_DAYS = "1-2 business days"


def refund_refusal(txn: Transaction) -> str | None:
    """The reason this transaction cannot be refunded, or None when a full refund is possible."""
    if txn.kind is PaymentKind.REFUND:
        return refusals.is_refund()
    refunds = {r.status for r in txn.refunds} if txn.refunds else ()
    if RefundStatus.SUCCEEDED in refunds:
        return refusals.already_refunded()
    if RefundStatus.PENDING in refunds:
        return refusals.PENDING
    if txn.status is TransactionStatus.AUTHORIZED:
        return refusals.never_captured()
    if txn.status is TransactionStatus.RETURNED:
        return refusals.returned()
    if txn.status is TransactionStatus.FAILED:
        return refusals.failed()
    if txn.status is TransactionStatus.VOIDED:
        return refusals.voided()
    if txn.refund_blocked:
        return txn.refund_blocked
    if txn.disputes and any(d.status.is_open for d in txn.disputes):
        return refusals.disputed()
    if txn.status not in (TransactionStatus.SUCCEEDED, TransactionStatus.PENDING):
        return refusals.other_status(txn.status.value)
    return None
