"""Stripe's objects as the bot's domain types: pure functions from Stripe's JSON shapes, no I/O.

Every function takes a ``stripe.StripeObject`` (what the SDK returns, or what
``StripeObject.construct_from`` builds) or the plain dict it holds, and reads fields with
``.get``: a field Stripe leaves out on an older API version, or a stand-in such as localstripe
never sends, reads as missing instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stripe import StripeObject

from bot import domain, refusals
from bot.nacha import normalize_return_code

Obj = dict[str, Any]

# Metadata the adapter writes on Stripe's objects, so a retry or a re-read finds our own work.
IDEMPOTENCY_KEY = "paybot_idempotency_key"
EVIDENCE_KEY = "paybot_evidence_key"
EVIDENCE_SUBMITTED_AT = "paybot_evidence_submitted_at"
ACCEPTED_KEY = "paybot_accepted"

CARD_TYPES = frozenset({"card", "card_present", "interac_present"})
ACH_TYPES = frozenset({"us_bank_account", "ach_debit", "ach_credit_transfer"})

# Stripe's failure codes for a bank debit the customer's bank sent back, as NACHA return codes.
ACH_FAILURE_CODES = {
    "insufficient_funds": "R01",
    "account_closed": "R02",
    "no_account": "R03",
    "invalid_account_number": "R04",
    "account_number_invalid": "R04",
    "debit_not_authorized": "R10",
    "account_frozen": "R16",
}

DISPUTE_STATUSES = {
    "warning_needs_response": domain.DisputeStatus.NEEDS_RESPONSE,
    "needs_response": domain.DisputeStatus.NEEDS_RESPONSE,
    "appeal_needs_response": domain.DisputeStatus.NEEDS_RESPONSE,
    "warning_under_review": domain.DisputeStatus.UNDER_REVIEW,
    "under_review": domain.DisputeStatus.UNDER_REVIEW,
    "appeal_under_review": domain.DisputeStatus.UNDER_REVIEW,
    "won": domain.DisputeStatus.WON,
    "warning_closed": domain.DisputeStatus.WON,  # an inquiry that closed without a chargeback
    "prevented": domain.DisputeStatus.WON,
    "lost": domain.DisputeStatus.LOST,
}
RESPONDABLE = frozenset({"warning_needs_response", "needs_response", "appeal_needs_response"})

REFUND_STATUSES = {
    "pending": domain.RefundStatus.PENDING,
    "requires_action": domain.RefundStatus.PENDING,
    "succeeded": domain.RefundStatus.SUCCEEDED,
    "failed": domain.RefundStatus.FAILED,
    "canceled": domain.RefundStatus.FAILED,
}

PAYOUT_STATUSES = {
    "pending": domain.WithdrawalStatus.PENDING,
    "in_transit": domain.WithdrawalStatus.PENDING,
    "paid": domain.WithdrawalStatus.PAID,
    "failed": domain.WithdrawalStatus.FAILED,
    "canceled": domain.WithdrawalStatus.FAILED,
}

NO_LAST4 = "0000"  # Stripe gave no last four (a wallet, or a method without a number)


@dataclass(frozen=True)
class MetadataKeys:
    """The metadata keys a firm's integration writes on its payments (settings, with defaults)."""

    matter: str = "matter_id"
    account: str = "account"


def plain(value: object) -> Obj:
    """A Stripe object (or an id, or nothing) as a plain dict; an unexpanded id becomes ``{}``."""
    if isinstance(value, StripeObject):
        return value.to_dict()
    if isinstance(value, Mapping):
        return dict(value)
    return {}


def id_of(value: object) -> str | None:
    """The id of a field that is either an id or an expanded object."""
    if isinstance(value, str):
        return value
    found = plain(value).get("id")
    return found if isinstance(found, str) else None


def when(seconds: object) -> datetime | None:
    return datetime.fromtimestamp(int(seconds), UTC) if isinstance(seconds, int | float) else None


def money(amount: object, currency: object) -> domain.Money:
    return domain.Money(
        int(amount) if isinstance(amount, int | float) else 0, str(currency or "usd").upper()
    )


def words(code: object) -> str:
    """``product_not_received`` as ``product not received``."""
    return str(code or "").replace("_", " ").strip()


def metadata(*objects: Obj) -> dict[str, str]:
    """Metadata of several objects, the first one's keys winning (the charge over its intent)."""
    merged: dict[str, str] = {}
    for obj in reversed(objects):
        found = obj.get("metadata")
        if isinstance(found, Mapping):
            merged.update({str(k): str(v) for k, v in found.items() if v is not None})
    return merged


def matter_of(meta: Mapping[str, str], keys: MetadataKeys) -> str | None:
    return meta.get(keys.matter) or None


def account_of(meta: Mapping[str, str], keys: MetadataKeys) -> domain.Account:
    """``trust`` (any case) is the trust account; anything else, or nothing, is operating."""
    value = meta.get(keys.account, "").strip().casefold()
    return domain.Account.TRUST if value == domain.Account.TRUST.value else domain.Account.OPERATING


# ---------------------------------------------------------------------------------------------
# Payment methods


def method_type(charge: Obj, payment_method: Obj | None = None) -> str | None:
    details = plain(charge.get("payment_method_details"))
    found = details.get("type") or plain(payment_method).get("type")
    return str(found) if found else None


def is_ach(charge: Obj, payment_method: Obj | None = None) -> bool:
    return method_type(charge, payment_method) in ACH_TYPES


def _last4(details: Mapping[str, Any]) -> str:
    found = str(details.get("last4") or "")
    return found if len(found) == 4 and found.isdigit() else NO_LAST4


def payment_method_of(charge: Obj, payment_method: Obj | None = None) -> domain.PaymentMethod:
    """Brand and last four from the charge's ``payment_method_details``; when a charge has none
    (made before Stripe added them, or by a stand-in), from its PaymentMethod."""
    details = plain(charge.get("payment_method_details"))
    if not details.get("type"):
        details = plain(payment_method)
    kind = str(details.get("type") or "")
    specific = plain(details.get(kind))
    if kind in ACH_TYPES:
        return domain.PaymentMethod(domain.MethodType.ACH, _last4(specific))
    if kind in CARD_TYPES:
        brand = specific.get("brand")
        return domain.PaymentMethod(
            domain.MethodType.CARD, _last4(specific), str(brand) if brand else None
        )
    # Link, wallets and the rest: shown as what they are, with a last four when they have one.
    return domain.PaymentMethod(
        domain.MethodType.CARD, _last4(specific), kind.replace("_", " ") or "unknown"
    )


def ach_return_code(charge: Obj, payment_method: Obj | None = None) -> str | None:
    """The NACHA code of an ACH debit the customer's bank sent back, or None when it was not one.

    Stripe calls such a payment failed: its ``failure_code`` (``insufficient_funds``…) names the
    reason; when that code has no NACHA twin, a PaymentMethod blocked by the return carries the
    network's own code in ``us_bank_account.status_details.blocked.network_code``.
    """
    if charge.get("status") != "failed" or not is_ach(charge, payment_method):
        return None
    if plain(charge.get("outcome")).get("type") == "blocked":
        return None  # refused by Stripe (Radar) before it reached the bank
    code = str(charge.get("failure_code") or "")
    mapped = ACH_FAILURE_CODES.get(code) or normalize_return_code(code)
    if mapped:
        return mapped
    bank = plain(plain(payment_method).get("us_bank_account"))
    blocked = plain(plain(bank.get("status_details")).get("blocked"))
    return normalize_return_code(str(blocked.get("network_code") or ""))


# ---------------------------------------------------------------------------------------------
# Charges and PaymentIntents


def kind_of(charge: Obj, intent: Obj | None = None) -> domain.PaymentKind:
    """An authorization is a payment captured separately: a manual-capture intent, or a charge
    made with ``capture=false``. A charge captured later without its intent reads as a sale."""
    intent = plain(intent) or plain(charge.get("payment_intent"))
    if intent.get("capture_method") == "manual" or charge.get("captured") is False:
        return domain.PaymentKind.AUTHORIZATION
    return domain.PaymentKind.SALE


def status_of(charge: Obj, payment_method: Obj | None = None) -> domain.TransactionStatus:
    status = charge.get("status")
    if status == "failed":
        returned = ach_return_code(charge, payment_method)
        return domain.TransactionStatus.RETURNED if returned else domain.TransactionStatus.FAILED
    if status == "pending":
        return domain.TransactionStatus.PENDING
    if charge.get("captured") is False:
        # An authorization released before capture is marked refunded by Stripe.
        return (
            domain.TransactionStatus.VOIDED
            if charge.get("refunded")
            else domain.TransactionStatus.AUTHORIZED
        )
    return domain.TransactionStatus.SUCCEEDED


def intent_status(intent: Obj) -> domain.TransactionStatus:
    """A PaymentIntent without a charge: nothing has moved yet, or it was given up."""
    status = intent.get("status")
    if status == "canceled":
        return domain.TransactionStatus.VOIDED
    if status == "requires_capture":
        return domain.TransactionStatus.AUTHORIZED
    if status == "succeeded":
        return domain.TransactionStatus.SUCCEEDED
    if intent.get("last_payment_error"):
        return domain.TransactionStatus.FAILED
    return domain.TransactionStatus.PENDING


def charge_refunds(charge: Obj) -> list[Obj] | None:
    """The refunds embedded in a charge (``expand=["refunds"]``); None when not all are there."""
    listed = plain(charge.get("refunds"))
    data = listed.get("data")
    if not isinstance(data, list) or listed.get("has_more"):
        return None
    return [plain(item) for item in data]


def transaction_of(
    charge: Obj,
    keys: MetadataKeys,
    *,
    intent: Obj | None = None,
    shown_id: str | None = None,
    refunds: Sequence[domain.Refund] = (),
    disputes: Sequence[domain.Dispute] = (),
    payment_method: Obj | None = None,
) -> domain.Transaction:
    """A charge as the portal's transaction; ``shown_id`` is the id the person asked for (a
    ``pi_`` id shows as itself, not as the charge that paid it)."""
    intent = plain(intent) or plain(charge.get("payment_intent"))
    meta = metadata(charge, intent)
    billing = plain(charge.get("billing_details"))
    return domain.Transaction(
        id=shown_id or str(charge["id"]),
        kind=kind_of(charge, intent),
        status=status_of(charge, payment_method),
        amount=money(charge.get("amount"), charge.get("currency")),
        method=payment_method_of(charge, payment_method),
        created_at=when(charge.get("created")) or datetime.now(UTC),
        matter_id=matter_of(meta, keys),
        account=account_of(meta, keys),
        customer_name=billing.get("name") or None,
        description=charge.get("description") or intent.get("description") or None,
        refunds=tuple(refunds),
        disputes=tuple(disputes),
        return_code=ach_return_code(charge, payment_method),
    )


def transaction_of_intent(
    intent: Obj, keys: MetadataKeys, payment_method: Obj | None = None
) -> domain.Transaction:
    """A PaymentIntent that has no charge yet (or any more)."""
    meta = metadata(intent)
    return domain.Transaction(
        id=str(intent["id"]),
        kind=domain.PaymentKind.AUTHORIZATION
        if intent.get("capture_method") == "manual"
        else domain.PaymentKind.SALE,
        status=intent_status(intent),
        amount=money(intent.get("amount"), intent.get("currency")),
        method=payment_method_of({}, payment_method),
        created_at=when(intent.get("created")) or datetime.now(UTC),
        matter_id=matter_of(meta, keys),
        account=account_of(meta, keys),
        description=intent.get("description") or None,
    )


# ---------------------------------------------------------------------------------------------
# Refunds


def refund_of(refund: object) -> domain.Refund:
    obj = plain(refund)
    status = REFUND_STATUSES.get(str(obj.get("status")), domain.RefundStatus.PENDING)
    return domain.Refund(
        id=str(obj["id"]),
        transaction_id=id_of(obj.get("charge")) or id_of(obj.get("payment_intent")) or "",
        amount=money(obj.get("amount"), obj.get("currency")),
        status=status,
        created_at=when(obj.get("created")) or datetime.now(UTC),
        failure_reason=(words(obj.get("failure_reason")) or "failed at Stripe")
        if status is domain.RefundStatus.FAILED
        else None,
    )


REFUND_TRANSACTION_STATUSES = {
    domain.RefundStatus.PENDING: domain.TransactionStatus.PENDING,
    domain.RefundStatus.SUCCEEDED: domain.TransactionStatus.SUCCEEDED,
    domain.RefundStatus.FAILED: domain.TransactionStatus.FAILED,
}


def transaction_of_refund(
    refund: object, keys: MetadataKeys, payment_method: Obj | None = None
) -> domain.Transaction:
    """A refund as a row of the history (``kind=refund``); its charge expanded gives the method."""
    obj = plain(refund)
    charge = plain(obj.get("charge"))
    mapped = refund_of(obj)
    meta = metadata(charge, plain(charge.get("payment_intent")))
    return domain.Transaction(
        id=mapped.id,
        kind=domain.PaymentKind.REFUND,
        status=REFUND_TRANSACTION_STATUSES[mapped.status],
        amount=mapped.amount,
        method=payment_method_of(charge, payment_method),
        created_at=mapped.created_at,
        matter_id=matter_of(meta, keys),
        account=account_of(meta, keys),
        description=f"Refund of {mapped.transaction_id}",
        original_id=mapped.transaction_id or None,
    )


def charge_refusal(charge: Obj) -> str | None:
    """Why Stripe would refuse a full refund of this charge, said before asking it."""
    cid = str(charge.get("id"))
    if charge.get("refunded"):
        return refusals.already_refunded(cid, " at Stripe")
    refunded = charge.get("amount_refunded") or 0
    if refunded:
        return (
            f"{cid} was partly refunded at Stripe ({money(refunded, charge.get('currency'))} of "
            f"{money(charge.get('amount'), charge.get('currency'))}); the portal refunds whole "
            "payments only, so refund the rest in the Stripe Dashboard."
        )
    if charge.get("status") == "failed":
        return refusals.failed(cid, " at Stripe")
    if charge.get("captured") is False:
        return refusals.never_captured(cid)
    if charge.get("disputed"):
        return refusals.disputed(cid, " at Stripe")
    return None


# ---------------------------------------------------------------------------------------------
# Disputes


def dispute_status(obj: Obj) -> domain.DisputeStatus:
    status = DISPUTE_STATUSES.get(str(obj.get("status")), domain.DisputeStatus.UNDER_REVIEW)
    if status is domain.DisputeStatus.LOST and metadata(obj).get(ACCEPTED_KEY):
        return (
            domain.DisputeStatus.ACCEPTED
        )  # closed by us: Stripe records an accepted dispute as lost
    return status


def dispute_of(dispute: object, keys: MetadataKeys) -> domain.Dispute:
    """A dispute; with ``charge`` (and ``payment_intent``) expanded it also knows the matter."""
    obj = plain(dispute)
    charge = plain(obj.get("charge"))
    intent = plain(obj.get("payment_intent")) or plain(charge.get("payment_intent"))
    evidence = plain(obj.get("evidence_details"))
    card = plain(plain(obj.get("payment_method_details")).get("card"))
    submitted = metadata(obj).get(EVIDENCE_SUBMITTED_AT)
    created = when(obj.get("created")) or datetime.now(UTC)
    return domain.Dispute(
        id=str(obj["id"]),
        transaction_id=id_of(obj.get("charge")) or id_of(obj.get("payment_intent")) or "",
        amount=money(obj.get("amount"), obj.get("currency")),
        status=dispute_status(obj),
        reason=words(obj.get("reason")) or "general",
        network_reason_code=str(
            obj.get("network_reason_code") or card.get("network_reason_code") or ""
        ),
        respond_by=when(evidence.get("due_by")) or created,
        created_at=created,
        matter_id=matter_of(metadata(charge, intent), keys),
        evidence_submitted_at=datetime.fromisoformat(submitted) if submitted else None,
    )


# ---------------------------------------------------------------------------------------------
# Returns, withdrawals, balance


def return_of(
    charge: object, keys: MetadataKeys, payment_method: Obj | None = None
) -> domain.PaymentReturn | None:
    """An ACH payment the bank sent back; the return is named by the charge it returned, and
    dated by the payment (Stripe's charge does not say when the return came)."""
    obj = plain(charge)
    code = ach_return_code(obj, payment_method)
    if code is None:
        return None
    return domain.PaymentReturn(
        id=str(obj["id"]),
        transaction_id=str(obj["id"]),
        code=code,
        amount=money(obj.get("amount"), obj.get("currency")),
        created_at=when(obj.get("created")) or datetime.now(UTC),
        matter_id=matter_of(metadata(obj, plain(obj.get("payment_intent"))), keys),
    )


def withdrawal_of(payout: object) -> domain.Withdrawal:
    obj = plain(payout)
    return domain.Withdrawal(
        id=str(obj["id"]),
        amount=money(obj.get("amount"), obj.get("currency")),
        status=PAYOUT_STATUSES.get(str(obj.get("status")), domain.WithdrawalStatus.PENDING),
        created_at=when(obj.get("created")) or datetime.now(UTC),
        arrives_at=when(obj.get("arrival_date")),
    )


def balance_of(balance: object, preferred: str = "usd") -> domain.Balance:
    """One currency of Stripe's per-currency balance: ``preferred`` when the account holds it,
    otherwise the first Stripe lists."""
    obj = plain(balance)

    def entries(name: str) -> list[Obj]:
        found = obj.get(name)
        listed = found if isinstance(found, list) else [found] if found else []
        return [plain(entry) for entry in listed]

    available, pending = entries("available"), entries("pending")
    currencies = [str(e.get("currency", "")).lower() for e in available + pending]
    currency = preferred if preferred in currencies else next(iter(currencies), preferred)

    def total(listed: list[Obj]) -> domain.Money:
        amount = sum(
            int(e.get("amount") or 0)
            for e in listed
            if str(e.get("currency", "")).lower() == currency
        )
        return domain.Money(amount, currency.upper())

    return domain.Balance(available=total(available), pending=total(pending))
