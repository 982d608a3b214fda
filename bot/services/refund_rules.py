"""Whether a payment may be refunded, and why not: asked when a lookup decides to offer the Refund
button, when the refund modal opens, when it is submitted and again when a manager approves."""

from __future__ import annotations

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
        return "This is itself a refund: a refund cannot be refunded."
    if any(r.status is RefundStatus.SUCCEEDED for r in txn.refunds):
        return "This payment has already been refunded."
    if any(r.status is RefundStatus.PENDING for r in txn.refunds):
        return "A refund of this payment is already pending at the processor."
    if txn.status is TransactionStatus.AUTHORIZED:
        return (
            "This authorization was never captured: there is no money to refund (void it instead)."
        )
    if txn.status is TransactionStatus.RETURNED:
        return "This payment was returned by the bank: there is no money to refund."
    if txn.status is TransactionStatus.FAILED:
        return "This payment failed: there is no money to refund."
    if txn.status is TransactionStatus.VOIDED:
        return "This payment was voided: there is no money to refund."
    if txn.refund_blocked:
        return txn.refund_blocked
    if any(d.status.is_open for d in txn.disputes):
        return "This payment is under dispute: answer the dispute instead of refunding."
    if txn.status not in (TransactionStatus.SUCCEEDED, TransactionStatus.PENDING):
        return f"A payment that is {txn.status.value} cannot be refunded."
    return None
