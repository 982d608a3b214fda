"""Payrix records to the bot's domain objects, code table by code table.

Nothing is dropped: a type, status, cycle or method code the tables below do not know still maps
(to the most cautious domain value) and is named in the object's description or reason, so a
person sees "Payrix status 9 is not known to Paybot" instead of a missing payment.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time

from bot import domain
from bot.errors import ProcessorError
from bot.nacha import normalize_return_code
from bot.processors.payrix.codes import (
    ACCEPT_LIABILITY,
    BATCH_STATUS,
    CAPTURED,
    CHARGEBACK_STATUSES,
    CONTESTS,
    CYCLE_NAMES,
    DEAD_MESSAGES,
    DEFAULT_CURRENCY,
    ECHECK_SALES,
    ECHECK_UNFUNDED,
    FAILED,
    KNOWN_CYCLES,
    LOST_CYCLES,
    METHODS,
    PAYMENT_STATUS,
    REFUND_STATUS,
    REFUND_TXN_STATUS,
    REFUND_TYPES,
    REFUNDABLE_STATUSES,
    REVERSAL,
    REVIEW_CYCLES,
    SETTLED,
    TXN_STATUSES,
    TXN_TYPES,
    UNACCEPT,
    WON_CYCLES,
    TxnType,
    response_type,
)
from bot.processors.payrix.fields import Fields, account_of, matter_of, text_of
from bot.processors.payrix.models import (
    EPOCH,
    Batch,
    Chargeback,
    ChargebackMessage,
    Disbursement,
    DisbursementEntry,
    EntityReturn,
    Payment,
    Txn,
    to_datetime,
)

log = logging.getLogger("paybot.payrix")

UNKNOWN_DIGITS = "0000"  # the domain needs four digits; the description says they are unknown
UNKNOWN_RETURN_CODE = "unknown"


# ---------------------------------------------------------------------------------------------
# Transactions


def money(minor: int | None, currency: str | None) -> domain.Money:
    return domain.Money(int(minor or 0), (currency or DEFAULT_CURRENCY).upper())


def when(txn: Txn | Chargeback | Batch | ChargebackMessage | Disbursement) -> datetime:
    instant = txn.created or txn.modified
    if instant is None:
        raise ProcessorError(f"Payrix sent {txn.id} without a creation time.")
    return instant


def txn_type(txn: Txn) -> tuple[TxnType, str | None]:
    known = TXN_TYPES.get(txn.type) if txn.type is not None else None
    if known is not None:
        return known, None
    log.warning("payrix txn %s has unknown type %r", txn.id, txn.type)
    fallback = TxnType(domain.PaymentKind.SALE, domain.MethodType.CARD, f"type {txn.type}")
    return fallback, f"Payrix transaction type {txn.type} is not known to Paybot"


def txn_status(txn: Txn, kind: TxnType) -> tuple[domain.TransactionStatus, str | None]:
    code = txn.status
    if txn.type == REVERSAL:
        failed = code == FAILED
        return (
            domain.TransactionStatus.FAILED if failed else domain.TransactionStatus.VOIDED
        ), None
    table = REFUND_TXN_STATUS if kind.kind is domain.PaymentKind.REFUND else PAYMENT_STATUS
    status = table.get(code) if code is not None else None
    if status is None:
        log.warning("payrix txn %s has unknown status %r", txn.id, code)
        return domain.TransactionStatus.PENDING, f"Payrix status {code} is not known to Paybot"
    if code in (CAPTURED, SETTLED) and txn.type in ECHECK_SALES and txn.funded is None:
        status = ECHECK_UNFUNDED
    return status, None


def refund_status(txn: Txn) -> tuple[domain.RefundStatus, str | None]:
    status = REFUND_STATUS.get(txn.status) if txn.status is not None else None
    if status is None:
        log.warning("payrix refund %s has unknown status %r", txn.id, txn.status)
        return domain.RefundStatus.PENDING, f"Payrix status {txn.status} is not known to Paybot"
    return status, None


def last_digits(payment: Payment) -> str | None:
    for value in (payment.last4, payment.number):
        digits = "".join(ch for ch in value or "" if ch.isdigit())
        if len(digits) >= 4 and (value or "").strip()[-1:].isdigit():
            return digits[-4:]
    return None


def method_of(txn: Txn, kind: TxnType) -> tuple[domain.PaymentMethod, str | None]:
    payment = txn.payment if isinstance(txn.payment, Payment) else None
    known = METHODS.get(payment.method) if payment and payment.method is not None else None
    notes = []
    if payment is not None and payment.method is not None and known is None:
        notes.append(f"Payrix payment method {payment.method} is not known to Paybot")
    method_type, brand = known if known is not None else (kind.method, None)
    digits = last_digits(payment) if payment else None
    if digits is None:
        notes.append("Payrix sent no card or account digits")
    method = domain.PaymentMethod(method_type, digits or UNKNOWN_DIGITS, brand)
    return method, "; ".join(notes) or None


def customer_of(txn: Txn) -> str | None:
    name = " ".join(p.strip() for p in (txn.first, txn.middle, txn.last) if p and p.strip())
    return name or (txn.company or "").strip() or None


def describe(base: str | None, notes: Iterable[str | None]) -> str | None:
    parts = [base] if base else []
    parts += [note for note in notes if note]
    return " · ".join(parts) or None


def to_refund(txn: Txn) -> domain.Refund:
    status, _ = refund_status(txn)
    return domain.Refund(
        id=txn.id,
        transaction_id=txn.fortxn or "",
        amount=money(txn.total, txn.currency),
        status=status,
        created_at=when(txn),
        settled_at=txn.settled if status is domain.RefundStatus.SUCCEEDED else None,
        failure_reason=(
            f"Payrix reports the refund as {TXN_STATUSES.get(txn.status, 'failed')}"
            if status is domain.RefundStatus.FAILED and txn.status is not None
            else None
        ),
    )


def to_transaction(
    txn: Txn,
    fields: Fields,
    refunds: Sequence[domain.Refund] = (),
    disputes: Sequence[domain.Dispute] = (),
    entity_return: EntityReturn | None = None,
) -> domain.Transaction:
    kind, type_note = txn_type(txn)
    status, status_note = txn_status(txn, kind)
    method, method_note = method_of(txn, kind)
    account, account_note = account_of(txn, fields)
    notes: list[str | None] = [type_note, status_note, method_note, account_note]
    if txn.type == 3 and txn.fortxn:
        notes.append(f"capture of {txn.fortxn}")
    if txn.type == REVERSAL and txn.fortxn:
        notes.append(f"reversal of {txn.fortxn}")
    if txn.approved is not None and txn.total is not None and txn.approved != txn.total:
        approved = money(txn.approved, txn.currency)
        notes.append(f"Payrix approved {approved} of {money(txn.total, txn.currency)}")
    return_code = None
    if status is domain.TransactionStatus.RETURNED:
        return_code = return_code_of(entity_return)
    return domain.Transaction(
        id=txn.id,
        kind=kind.kind,
        status=status,
        amount=money(txn.total, txn.currency),
        method=method,
        created_at=when(txn),
        matter_id=matter_of(txn, fields),
        account=account,
        customer_name=customer_of(txn),
        description=describe(text_of(txn, fields), notes),
        refunds=tuple(refunds),
        disputes=tuple(disputes),
        original_id=txn.fortxn if kind.kind is domain.PaymentKind.REFUND else None,
        return_code=return_code,
        refund_blocked=refund_blocked(txn, kind),
    )


def refund_blocked(txn: Txn, kind: TxnType) -> str | None:
    """What Payrix's own rules say against refunding this payment now (the gateway refuses the
    same at refund time, with the same words)."""
    if kind.kind is domain.PaymentKind.AUTHORIZATION and txn.type not in (REVERSAL,):
        return (
            "Payrix refunds only a capture or a sale, and this is an authorization: refund its "
            "capture instead, or reverse the authorization in the Payrix portal."
        )
    if txn.type in ECHECK_SALES and txn.status in REFUNDABLE_STATUSES and txn.funded is None:
        return UNFUNDED_ECHECK
    return None


UNFUNDED_ECHECK = (
    "This eCheck has not been funded by Payrix yet: the money has not arrived and the bank can "
    "still return it, so it can be refunded only once Payrix shows it funded."
)


def return_code_of(entity_return: EntityReturn | None) -> str:
    """The NACHA code of a return is in ``/entityReturns.code`` (``txn.returned`` is a date)."""
    found = normalize_return_code(entity_return.code or "") if entity_return else None
    return found or UNKNOWN_RETURN_CODE


def returned_at(txn: Txn) -> datetime:
    try:
        instant = to_datetime(txn.returned) if txn.returned else None
    except ValueError:
        instant = None
    return instant or txn.modified or when(txn)


def to_return(txn: Txn, fields: Fields, entity_return: EntityReturn | None) -> domain.PaymentReturn:
    return domain.PaymentReturn(
        id=txn.id,
        transaction_id=txn.id,
        code=return_code_of(entity_return),
        amount=money(txn.total, txn.currency),
        created_at=returned_at(txn),
        matter_id=matter_of(txn, fields),
    )


# ---------------------------------------------------------------------------------------------
# Chargebacks


def _live(messages: Iterable[ChargebackMessage]) -> list[ChargebackMessage]:
    alive = [m for m in messages if (m.status or "").casefold() not in DEAD_MESSAGES]
    return sorted(alive, key=lambda m: (m.created or datetime.min.replace(tzinfo=UTC), m.id))


def accepted(messages: Iterable[ChargebackMessage]) -> ChargebackMessage | None:
    """The liability acceptance in force: the last accept, unless an ``unaccept`` came after."""
    found = None
    for message in _live(messages):
        if message.type == ACCEPT_LIABILITY:
            found = message
        elif message.type == UNACCEPT:
            found = None
    return found


def responses(cycle: str | None, messages: Iterable[ChargebackMessage]) -> list[ChargebackMessage]:
    """Our answers that count in this cycle: the contest this cycle takes, else any contest."""
    found = response_type(cycle)
    wanted: tuple[str, ...] = (found[0],) if found else CONTESTS
    return [m for m in _live(messages) if m.type in wanted]


def dispute_status(
    cb: Chargeback, messages: Sequence[ChargebackMessage]
) -> tuple[domain.DisputeStatus, str | None]:
    """Payrix's status, cycle and ``actionable`` flag, with our own messages, as the portal's badges.

    ``closed`` is "responses may no longer be submitted" (Payrix's status text), not a loss: it
    is lost or won only when the cycle says so. An open case Payrix marks ``actionable`` needs a
    response, even after one was sent (Payrix left a responded case actionable in the recorded
    responses): more evidence is still taken.
    """
    status = (cb.status or "").strip()
    cycle = (cb.cycle or "").strip() or None
    notes = []
    if status not in CHARGEBACK_STATUSES:
        notes.append(f"Payrix chargeback status {cb.status!r} is not known to Paybot")
        log.warning("payrix chargeback %s has unknown status %r", cb.id, cb.status)
    if cycle is not None and cycle not in KNOWN_CYCLES:
        notes.append(f"Payrix chargeback cycle {cb.cycle!r} is not known to Paybot")
        log.warning("payrix chargeback %s has unknown cycle %r", cb.id, cb.cycle)
    note = "; ".join(notes) or None
    if accepted(messages) is not None and status != "won":
        return domain.DisputeStatus.ACCEPTED, note
    if status == "won":
        return domain.DisputeStatus.WON, note
    if status == "lost":
        return domain.DisputeStatus.LOST, note
    if status == "closed":
        if cycle in WON_CYCLES:
            return domain.DisputeStatus.WON, note
        if cycle in LOST_CYCLES:
            return domain.DisputeStatus.LOST, note
        return domain.DisputeStatus.CLOSED, note
    # open, or a status we do not know: what Payrix says can be sent now
    if cycle in WON_CYCLES or cycle in LOST_CYCLES:
        return domain.DisputeStatus.UNDER_REVIEW, note
    if cb.actionable == 1:
        return domain.DisputeStatus.NEEDS_RESPONSE, note
    if cb.actionable == 0:  # Payrix says nothing can be sent now
        return domain.DisputeStatus.UNDER_REVIEW, note
    if cycle in REVIEW_CYCLES or responses(cycle, messages):  # no flag: read the cycle
        return domain.DisputeStatus.UNDER_REVIEW, note
    return domain.DisputeStatus.NEEDS_RESPONSE, note


def dispute_stage(cb: Chargeback, status: domain.DisputeStatus) -> domain.DisputeStage | None:
    """The cycle by name and, while a response is needed, what the answer asks for (the
    message ``response_type`` picks for the cycle): "Pre-arbitration: your answer asks for
    arbitration"."""
    cycle = (cb.cycle or "").strip()
    if not cycle:
        return None
    found = response_type(cycle) if status is domain.DisputeStatus.NEEDS_RESPONSE else None
    name = CYCLE_NAMES.get(cycle, f"Payrix cycle {cycle}")
    return domain.DisputeStage(name, found[1] if found else None)


def respond_by(cb: Chargeback) -> tuple[datetime, str | None]:
    """The end of the ``reply`` day (UTC: earlier than the end of a US business day, never later)."""
    if cb.reply is not None:
        return datetime.combine(cb.reply, time(23, 59, 59), tzinfo=UTC), None
    return when(cb), "Payrix gave no reply-by date"


def to_dispute(
    cb: Chargeback, messages: Sequence[ChargebackMessage], matter_id: str | None = None
) -> domain.Dispute:
    status, status_note = dispute_status(cb, messages)
    deadline, deadline_note = respond_by(cb)
    answered = [m for m in _live(messages) if m.type in CONTESTS]  # the latest counts
    reason = describe(cb.reason or "chargeback", [status_note, deadline_note]) or ""
    return domain.Dispute(
        id=cb.id,
        transaction_id=cb.txn or "",
        amount=money(cb.total, cb.currency),
        status=status,
        reason=reason,
        network_reason_code=cb.reasonCode or "",
        respond_by=deadline,
        created_at=when(cb),
        matter_id=matter_id,
        evidence_submitted_at=answered[-1].created if answered else None,
        stage=dispute_stage(cb, status),
    )


# ---------------------------------------------------------------------------------------------
# Batches: what Payrix settles together and funds into the firm's bank account


def batch_status(batch: Batch) -> domain.WithdrawalStatus:
    status = BATCH_STATUS.get((batch.status or "").strip())
    if status is None:
        log.warning("payrix batch %s has unknown status %r", batch.id, batch.status)
        return domain.WithdrawalStatus.PENDING
    return status


def moves_money(txn: Txn) -> bool:
    return txn.status not in (FAILED, None) and txn.type != REVERSAL and txn.type in TXN_TYPES


def signed_amount(txn: Txn) -> int:
    """What a transaction adds to its batch: payments in, refunds out, failures nothing."""
    if not moves_money(txn):
        return 0
    amount = txn.total or 0
    return -amount if txn.type in REFUND_TYPES else amount


def to_withdrawal(batch: Batch, txns: Sequence[Txn], currency: str) -> domain.Withdrawal:
    funded = [t.funded for t in txns if moves_money(t)]
    days = [day for day in funded if day is not None]
    arrives = max(days) if days and len(days) == len(funded) else None
    return domain.Withdrawal(
        id=batch.id,
        amount=domain.Money(sum(signed_amount(t) for t in txns), currency),
        status=batch_status(batch),
        created_at=when(batch),
        arrives_at=datetime.combine(arrives, time(), tzinfo=UTC) if arrives else None,
        transaction_ids=tuple(t.id for t in txns),
    )


# ---------------------------------------------------------------------------------------------
# Disbursements: what Payrix pays into the firm's bank account (the withdrawals)

DISBURSEMENT_STATUS = {
    1: domain.WithdrawalStatus.PENDING,  # requested
    2: domain.WithdrawalStatus.PENDING,  # processing
    3: domain.WithdrawalStatus.PAID,  # processed: "paid by ACH to the bank account"
    4: domain.WithdrawalStatus.FAILED,
    5: domain.WithdrawalStatus.FAILED,  # denied
    6: domain.WithdrawalStatus.RETURNED,
}
DISBURSEMENT_PROCESSED, DISBURSEMENT_RETURNED = 3, 6


def disbursement_status(disbursement: Disbursement) -> domain.WithdrawalStatus:
    status = DISBURSEMENT_STATUS.get(disbursement.status) if disbursement.status else None
    if status is None:
        log.warning(
            "payrix disbursement %s has unknown status %r", disbursement.id, disbursement.status
        )
        return domain.WithdrawalStatus.PENDING
    return status


def to_payout(disbursement: Disbursement, transaction_ids: Sequence[str] = ()) -> domain.Withdrawal:
    processed = disbursement.processed
    return domain.Withdrawal(
        id=disbursement.id,
        amount=money(disbursement.amount, disbursement.currency),
        status=disbursement_status(disbursement),
        created_at=when(disbursement),
        arrives_at=processed,
        transaction_ids=tuple(transaction_ids),
    )


_TXN_ID = re.compile(r"[a-z]\d_txn_", re.IGNORECASE)


def paid_out(entries: Iterable[DisbursementEntry]) -> dict[str, tuple[str, ...]]:
    """The transactions each payout paid out, from its ``/disbursementEntries``, oldest first.

    An entry names a transaction when its ``eventId`` is a txn id (Payrix types ``eventId`` as
    "string | txnsResponse"); fee, reserve and chargeback entries name something else or
    nothing. A transaction with several entries (its sale and its fee) is counted once.
    """
    ordered = sorted(entries, key=lambda e: (e.created or e.modified or EPOCH, e.id))
    found: dict[str, dict[str, None]] = defaultdict(dict)
    for entry in ordered:
        if entry.disbursement and entry.eventId and _TXN_ID.match(entry.eventId):
            found[entry.disbursement][entry.eventId] = None
    return {payout: tuple(txns) for payout, txns in found.items()}
