"""A dispute response's evidence: the fields it carries, and which processor takes which (the
Respond modal, the approval draft and each adapter read them from here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DisputeEvidence:
    summary: str
    product_description: str = ""
    customer_communication: str = ""
    service_date: str = ""
    refund_policy: str = ""
    other: str = ""
    # Stripe's own text fields (shown only where the processor takes them: ``Gateway.text_fields``)
    refund_refusal_explanation: str = ""
    customer_name: str = ""
    customer_email_address: str = ""


@dataclass(frozen=True)
class EvidenceField:
    """One field of a dispute response: its ``DisputeEvidence`` attribute (also the modal's block
    id), what people see it called, what a missing required one is called, its longest length."""

    name: str
    label: str
    limit: int = 3000
    required: str | None = None  # None: optional
    date: bool = False  # picked from a calendar, not typed
    only: str | None = None  # the one processor that has this field (None: every processor)


EVIDENCE_FIELDS = (
    EvidenceField("summary", "Summary for the bank", required="a summary for the bank"),
    EvidenceField(
        "product_description", "Product or service provided", required="the product or service"
    ),
    EvidenceField("customer_communication", "Customer communication"),
    EvidenceField("service_date", "Service date", limit=20, date=True),
    EvidenceField("refund_policy", "Refund policy"),
    EvidenceField("other", "Other information"),
    EvidenceField("refund_refusal_explanation", "Why the client was not refunded", only="stripe"),
    EvidenceField("customer_name", "Client's name", limit=200, only="stripe"),
    EvidenceField("customer_email_address", "Client's e-mail address", limit=200, only="stripe"),
)


def evidence_fields(processor: str) -> tuple[EvidenceField, ...]:
    """The fields a response to this processor carries: every processor's, and its own."""
    return tuple(f for f in EVIDENCE_FIELDS if f.only in (None, processor))
