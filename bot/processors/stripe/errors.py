"""Stripe's errors as ProcessorError: a sentence for the person, and whether to try again.

Retryable: rate limited, Stripe unreachable (a timeout included), Stripe's own 5xx and 409
(an idempotency key in use by a request still running, a lock timeout). Everything else is
final: trying the same request again gets the same answer.
"""

from __future__ import annotations

import aiohttp
import stripe

from bot.errors import ProcessorError

NOT_FOUND = "resource_missing"

_INVALID_REQUEST = {
    "charge_already_refunded": "{what}: the payment has already been refunded at Stripe.",
    "charge_disputed": "{what}: the payment is disputed at Stripe; answer the dispute instead.",
    "charge_not_refundable": "{what}: Stripe says this payment cannot be refunded.",
    "amount_too_large": "{what}: the amount is more than is left to refund at Stripe.",
    "charge_exceeds_source_limit": "{what}: the payment source's limit at Stripe is reached.",
    NOT_FOUND: "{what}: Stripe has no such object.",
}


def translate(exc: BaseException, what: str) -> ProcessorError:
    """``what`` names the attempt (``Refund of ch_…``) so the sentence stands on its own."""
    if isinstance(exc, stripe.RateLimitError):
        return ProcessorError(
            f"{what}: Stripe is rate limiting us; the bot tries again shortly.", retryable=True
        )
    if isinstance(exc, stripe.APIConnectionError | TimeoutError | aiohttp.ClientError):
        return ProcessorError(
            f"{what}: Stripe did not answer in time or could not be reached; the bot tries again "
            "with the same idempotency key.",
            retryable=True,
        )
    if isinstance(exc, stripe.CardError):
        reason = exc.user_message or "the card was declined"
        code = getattr(exc, "code", None)
        return ProcessorError(f"{what}: card declined ({code or 'declined'}): {reason}")
    if isinstance(exc, stripe.IdempotencyError):
        return ProcessorError(
            f"{what}: Stripe saw this idempotency key with different details before; nothing "
            "was sent again."
        )
    if isinstance(exc, stripe.AuthenticationError):
        return ProcessorError(f"{what}: Stripe refused STRIPE_API_KEY (revoked or mistyped?).")
    if isinstance(exc, stripe.PermissionError):
        return ProcessorError(
            f"{what}: STRIPE_API_KEY may not do this (a restricted key without the permission)."
        )
    if isinstance(exc, stripe.InvalidRequestError):
        template = _INVALID_REQUEST.get(str(exc.code or ""))
        if template:
            return ProcessorError(template.format(what=what))
        return ProcessorError(f"{what}: Stripe refused the request: {exc.user_message or exc}")
    if isinstance(exc, stripe.StripeError):
        status = exc.http_status or 0
        if status >= 500 or status == 409 or status == 0:
            return ProcessorError(
                f"{what}: Stripe is having trouble (HTTP {status or 'error'}); the bot tries "
                "again shortly.",
                retryable=True,
            )
        return ProcessorError(f"{what}: Stripe answered HTTP {status}: {exc.user_message or exc}")
    return ProcessorError(f"{what}: unexpected error talking to Stripe ({type(exc).__name__})")


def is_not_found(exc: stripe.StripeError) -> bool:
    return isinstance(exc, stripe.InvalidRequestError) and (
        exc.code == NOT_FOUND or exc.http_status == 404
    )
