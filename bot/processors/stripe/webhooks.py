"""Stripe's events as ours, for both webhooks (``POST /webhooks/stripe``) and the poller.

A webhook is verified with ``stripe.Webhook.construct_event`` on the raw body: the
``Stripe-Signature`` header (``t=<unix seconds>,v1=<HMAC-SHA256 of "t.body">``) must match
STRIPE_WEBHOOK_SECRET and be at most five minutes old.

Stripe reports an ACH debit sent back by the bank twice (``charge.failed`` and
``payment_intent.payment_failed``): both become one event, keyed by the charge
(``return:<charge id>``), so the return is stored and announced once whichever comes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from bot.domain import EventType, ProcessorEvent
from bot.errors import PaybotError
from bot.nacha import normalize_return_code
from bot.processors.stripe.mapping import (
    ACH_FAILURE_CODES,
    ACH_TYPES,
    MetadataKeys,
    Obj,
    dispute_of,
    id_of,
    metadata,
    money,
    plain,
    refund_of,
    return_of,
    when,
    withdrawal_of,
)

HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300

# What the webhook endpoint should send, and what the poller asks /v1/events for.
EVENT_TYPES = (
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.refunded",
    "refund.updated",
    "refund.failed",
    "charge.failed",
    "payment_intent.payment_failed",
    "payout.paid",
    "payout.failed",
)


class WebhookRejected(PaybotError):
    """A webhook whose signature, age or body is not acceptable: answered 400, nothing stored."""


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name in any case (aiohttp's headers are case-insensitive, a dict is not)."""
    found = headers.get(name)
    if found is not None:
        return found
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify(
    body: bytes, headers: Mapping[str, str], secret: str | None, keys: MetadataKeys
) -> tuple[ProcessorEvent, ...]:
    if not secret:
        raise WebhookRejected(
            "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is not set)"
        )
    signature = header(headers, HEADER)
    if not signature:
        raise WebhookRejected("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(body, signature, secret, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        if "tolerance" in str(exc.user_message or exc):
            raise WebhookRejected(
                "stale Stripe webhook: its signature is older than five minutes"
            ) from None
        raise WebhookRejected(f"bad Stripe webhook signature ({exc.user_message})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(f"malformed Stripe webhook body ({type(exc).__name__})") from None
    try:
        mapped = processor_event(event, keys)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError) as exc:
        # e.g. a `created` beyond any date: the event is refused, nothing stored
        raise WebhookRejected(f"malformed Stripe webhook body ({type(exc).__name__})") from None
    return () if mapped is None else (mapped,)


def refunds_needed(event: object) -> str | None:
    """The charge whose refunds must be listed to map this event: a ``charge.refunded`` whose
    charge does not embed them (Stripe stopped embedding ``refunds`` in API version 2022-11-15).
    A webhook cannot wait for that call: such an event is left to the poller, which lists them.
    """
    raw = plain(event)
    if raw.get("type") != "charge.refunded":
        return None
    charge = plain(plain(raw.get("data")).get("object"))
    listed = plain(charge.get("refunds")).get("data")
    if isinstance(listed, list) and listed:
        return None
    return str(charge["id"]) if charge.get("id") else None


def processor_event(
    event: object, keys: MetadataKeys, refunds: list[Any] | None = None
) -> ProcessorEvent | None:
    """One Stripe event as ours, or None for one the bot does not act on. ``refunds`` are the
    charge's refunds, newest first, for a ``charge.refunded`` that does not embed them
    (``refunds_needed``); without them such an event maps to nothing, never to a refund
    named by the charge's id."""
    raw = plain(event)
    kind = str(raw.get("type") or "")
    obj = plain(plain(raw.get("data")).get("object"))
    if not obj.get("id") or not raw.get("id"):
        return None
    at = when(raw.get("created")) or when(obj.get("created"))
    if at is None:
        return None
    event_id = str(raw["id"])
    if kind.startswith("charge.dispute."):
        type_ = (
            EventType.DISPUTE_CREATED if kind.endswith(".created") else EventType.DISPUTE_UPDATED
        )
        dispute = dispute_of(obj, keys)
        data: dict[str, Any] = {
            "dispute_id": dispute.id,
            "transaction_id": dispute.transaction_id,
            "status": dispute.status.value,
            "stripe_status": obj.get("status"),
            "reason": dispute.reason,
            "network_reason_code": dispute.network_reason_code,
            "respond_by": dispute.respond_by.isoformat(),
            "amount_minor": dispute.amount.minor,
            "currency": dispute.amount.currency,
            "matter_id": dispute.matter_id,
        }
        return ProcessorEvent(event_id, type_, dispute.id, at, data)
    if kind in ("refund.updated", "refund.failed"):
        refund = refund_of(obj)
        data = {
            "refund_id": refund.id,
            "transaction_id": refund.transaction_id,
            "status": refund.status.value,
            "amount_minor": refund.amount.minor,
            "currency": refund.amount.currency,
            "failure_reason": refund.failure_reason,
            "paybot_request": metadata(obj).get("paybot_request"),
        }
        return ProcessorEvent(event_id, EventType.REFUND_UPDATED, refund.id, at, data)
    if kind == "charge.refunded":
        return _charge_refunded(event_id, obj, at, keys, refunds)
    if kind == "charge.failed":
        payment_return = return_of(obj, keys)
        if payment_return is None:
            return None  # a card decline, or a debit Stripe refused before it reached the bank
        return _return_event(
            payment_return.transaction_id,
            payment_return.code,
            payment_return.amount.minor,
            payment_return.amount.currency,
            payment_return.matter_id,
            at,
        )
    if kind == "payment_intent.payment_failed":
        return _intent_failed(obj, at, keys)
    if kind in ("payout.paid", "payout.failed"):
        withdrawal = withdrawal_of(obj)
        data = {
            "withdrawal_id": withdrawal.id,
            "status": withdrawal.status.value,
            "amount_minor": withdrawal.amount.minor,
            "currency": withdrawal.amount.currency,
            "arrives_at": withdrawal.arrives_at.isoformat() if withdrawal.arrives_at else None,
            "failure_code": obj.get("failure_code"),
        }
        # The domain has one withdrawal event; a failed payout says so in its status.
        return ProcessorEvent(event_id, EventType.WITHDRAWAL_PAID, withdrawal.id, at, data)
    return None


def _charge_refunded(
    event_id: str, charge: Obj, at: Any, keys: MetadataKeys, refunds: list[Any] | None
) -> ProcessorEvent | None:
    """A charge was refunded: the event announces its newest refund made by then, from the
    charge's embedded refunds (older API versions) or the listed ones."""
    embedded = plain(charge.get("refunds")).get("data")
    listed = [
        plain(r) for r in (embedded if isinstance(embedded, list) and embedded else refunds or [])
    ]
    made = [r for r in listed if (when(r.get("created")) or at) <= at] or listed
    if not made or not made[0].get("id"):
        return None
    newest = made[0]
    refund_id = str(newest["id"])
    amount = money(charge.get("amount_refunded"), charge.get("currency"))
    data = {
        "refund_id": newest.get("id"),
        "transaction_id": charge["id"],
        "status": "succeeded" if newest.get("status") == "succeeded" else "pending",
        "amount_minor": amount.minor,
        "currency": amount.currency,
        "refunded": bool(charge.get("refunded")),
        "matter_id": metadata(charge).get(keys.matter),
    }
    return ProcessorEvent(event_id, EventType.REFUND_UPDATED, refund_id, at, data)


def _intent_failed(intent: Obj, at: Any, keys: MetadataKeys) -> ProcessorEvent | None:
    """A PaymentIntent whose bank debit was sent back; card declines are not returns."""
    error = plain(intent.get("last_payment_error"))
    method = plain(error.get("payment_method"))
    types = intent.get("payment_method_types") or []
    ach = method.get("type") in ACH_TYPES or (not method and set(types) <= ACH_TYPES and types)
    charge_id = id_of(intent.get("latest_charge")) or id_of(error.get("charge"))
    code = str(error.get("code") or "")
    nacha = ACH_FAILURE_CODES.get(code) or normalize_return_code(code)
    if not ach or not charge_id or not nacha:
        return None
    return _return_event(
        charge_id,
        nacha,
        int(intent.get("amount") or 0),
        str(intent.get("currency") or "usd").upper(),
        metadata(intent).get(keys.matter),
        at,
    )


def _return_event(
    charge_id: str, code: str, amount_minor: int, currency: str, matter_id: str | None, at: Any
) -> ProcessorEvent:
    data = {
        "return_id": charge_id,
        "transaction_id": charge_id,
        "code": code,
        "amount_minor": amount_minor,
        "currency": currency,
        "matter_id": matter_id,
    }
    return ProcessorEvent(f"return:{charge_id}", EventType.RETURN_CREATED, charge_id, at, data)
