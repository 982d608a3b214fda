"""Why a payment cannot be refunded, in one set of words.

The portal's own check (services/refund_rules.py) and each processor's check before it is asked
(the sandbox, Stripe) say the same thing the same way. ``subject`` is how a sentence names the
payment: "This payment" for the person looking at it, its id when a processor refuses it;
``detail`` is what only that processor knows (" at Stripe", the refund's id, the return code).
"""

from __future__ import annotations

THIS = "This payment"
GONE = "The payment can no longer be found."
PENDING = "A refund of this payment is already pending at the processor."


def is_refund(subject: str = THIS) -> str:
    return f"{subject} is itself a refund: a refund cannot be refunded."


def already_refunded(subject: str = THIS, detail: str = "") -> str:
    return f"{subject} has already been refunded{detail}."


def never_captured(subject: str = THIS) -> str:
    return (
        f"{subject} is an authorization that was never captured: no money moved, so there is "
        "nothing to refund (void it instead)."
    )


def failed(subject: str = THIS, detail: str = "") -> str:
    return f"{subject} failed{detail}: no money moved, so there is nothing to refund."


def returned(subject: str = THIS, detail: str = "") -> str:
    return (
        f"{subject} was returned by the customer's bank{detail}: the money already went back, "
        "so there is nothing to refund."
    )


def voided(subject: str = THIS) -> str:
    return f"{subject} was voided: no money moved, so there is nothing to refund."


def disputed(subject: str = THIS, detail: str = "") -> str:
    return (
        f"{subject} is under dispute{detail}: a refund now could pay the customer twice, so "
        "answer the dispute instead of refunding."
    )


def not_settled(status: str, subject: str = THIS) -> str:
    return f"{subject} is {status}: it can be refunded once it has settled."


def other_status(status: str, subject: str = THIS) -> str:
    return f"{subject} is {status}: it cannot be refunded."
