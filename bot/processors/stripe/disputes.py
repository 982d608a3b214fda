"""Stripe disputes: read, listed, answered with evidence and accepted (closed)."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Sequence
from typing import Any

from stripe.params import DisputeListParams, DisputeUpdateParams, DisputeUpdateParamsEvidence

from bot.documents import (
    DocumentFile,
    DocumentLimits,
    SentDocument,
)
from bot.domain import Dispute, DisputeStatus, Page
from bot.errors import ProcessorError
from bot.evidence import DisputeEvidence
from bot.processors.stripe import mapping
from bot.processors.stripe.connection import StripeConnection
from bot.processors.stripe.mapping import (
    ACCEPTED_KEY,
    EVIDENCE_KEY,
    EVIDENCE_SUBMITTED_AT,
    RESPONDABLE,
    Obj,
    plain,
)
from bot.processors.stripe.paging import scan

DISPUTE_IDS = ("dp_", "du_")
# Stripe's evidence holds one file per field: the documents fill these, in this order (the modal
# asks for them so). The engagement letter first, the signed authorization, the invoice, the
# client's e-mails, the refund policy, anything else.
FILE_FIELDS = (
    "service_documentation",
    "customer_signature",
    "receipt",
    "customer_communication",
    "refund_policy",
    "uncategorized_file",
)
STRIPE_LIMITS = DocumentLimits(
    count=len(FILE_FIELDS),
    each=5_000_000,
    total=4_500_000,
    types=("pdf", "png", "jpg", "jpeg"),
    source=(
        "Stripe: one file per evidence field (the API's dispute evidence object; Paybot fills "
        "six), 5 MB a file of PDF, JPEG or PNG (stripe.com/docs/file-upload, purpose "
        "dispute_evidence), 4.5 MB in all (Stripe's dispute evidence guidance)"
    ),
)
DISPUTE_EXPAND = ["charge", "payment_intent"]


class StripeDisputes(StripeConnection):
    """The dispute part of the gateway."""

    document_limits = STRIPE_LIMITS

    async def _dispute(self, dispute_id: str) -> Obj | None:
        if not dispute_id.startswith(DISPUTE_IDS):
            return None
        found = await self._find(
            f"Dispute {dispute_id}",
            lambda: self._client.v1.disputes.retrieve_async(dispute_id, {"expand": DISPUTE_EXPAND}),
        )
        return None if found is None else plain(found)

    async def get_dispute(self, dispute_id: str) -> Dispute | None:
        found = await self._dispute(dispute_id)
        return None if found is None else mapping.dispute_of(found, self._keys)

    async def list_disputes(
        self, *, open_only: bool = False, limit: int = 10, cursor: str | None = None
    ) -> Page[Dispute]:
        """Newest first (Stripe cannot order by deadline); ``open_only`` is filtered here."""

        def fetch(size: int, after: str | None, before: str | None) -> Awaitable[Any]:
            params: DisputeListParams = {
                "limit": size,
                "expand": [f"data.{field}" for field in DISPUTE_EXPAND],
            }
            if after:
                params["starting_after"] = after
            if before:
                params["ending_before"] = before
            return self._call("Disputes", lambda: self._client.v1.disputes.list_async(params))

        def is_open(dispute: Obj) -> bool:
            return mapping.dispute_status(dispute).is_open

        listing = "disputes:open" if open_only else "disputes:all"
        page = await scan(fetch, listing, limit, cursor, is_open if open_only else None)
        items = tuple(mapping.dispute_of(d, self._keys) for d in page.items)
        return Page(items, page.next_cursor, page.prev_cursor)

    async def upload_dispute_document(
        self, dispute_id: str, document: DocumentFile, *, idempotency_key: str
    ) -> str:
        """The Files API (files.stripe.com) with purpose ``dispute_evidence``; the key makes a
        repeated upload Stripe's answer to the first one, not a second file."""
        content = io.BytesIO(document.content)
        content.name = document.name
        made = await self._call(
            f"Uploading {document.name} for {dispute_id}",
            lambda: self._client.v1.files.create_async(
                {"purpose": "dispute_evidence", "file": content},
                {"idempotency_key": idempotency_key},
            ),
        )
        return str(plain(made)["id"])

    async def submit_dispute_evidence(
        self,
        dispute_id: str,
        evidence: DisputeEvidence,
        *,
        idempotency_key: str,
        documents: Sequence[SentDocument] = (),
    ) -> Dispute:
        """Stage the evidence on the dispute and submit it in one update (``submit=true``)."""
        if len(documents) > len(FILE_FIELDS):
            raise ProcessorError(f"Stripe's evidence holds at most {len(FILE_FIELDS)} files.")
        if not evidence.summary.strip():
            raise ProcessorError("Evidence needs at least a summary.")
        found = await self._dispute(dispute_id)
        if found is None:
            raise ProcessorError(f"There is no Stripe dispute {dispute_id}.")
        if mapping.metadata(found).get(EVIDENCE_KEY) == idempotency_key:
            return mapping.dispute_of(found, self._keys)
        status = str(found.get("status"))
        if status not in RESPONDABLE:
            current = mapping.dispute_status(found)
            if current is DisputeStatus.UNDER_REVIEW:
                raise ProcessorError(
                    f"Evidence for {dispute_id} was already submitted; the dispute is under review."
                )
            raise ProcessorError(f"{dispute_id} is closed ({current.value}); it takes no evidence.")
        now = self._clock()
        due = mapping.when(plain(found.get("evidence_details")).get("due_by"))
        if due is not None and now > due:
            raise ProcessorError(
                f"The deadline to respond to {dispute_id} passed on {due:%Y-%m-%d %H:%M} UTC; "
                "it can no longer be contested."
            )
        params: DisputeUpdateParams = {
            "evidence": stripe_evidence(evidence, documents),
            "submit": True,
            "metadata": {EVIDENCE_KEY: idempotency_key, EVIDENCE_SUBMITTED_AT: now.isoformat()},
            "expand": DISPUTE_EXPAND,
        }
        updated = await self._call(
            f"Evidence for {dispute_id}",
            lambda: self._client.v1.disputes.update_async(
                dispute_id, params, {"idempotency_key": idempotency_key}
            ),
        )
        return mapping.dispute_of(updated, self._keys)

    async def accept_dispute(self, dispute_id: str, *, idempotency_key: str) -> Dispute:
        """Close the dispute (Stripe's "accept"), first marking it as accepted by us: Stripe
        records a closed dispute as lost, and the mark tells accepted from lost."""
        found = await self._dispute(dispute_id)
        if found is None:
            raise ProcessorError(f"There is no Stripe dispute {dispute_id}.")
        current = mapping.dispute_status(found)
        if current is DisputeStatus.ACCEPTED:
            return mapping.dispute_of(found, self._keys)
        if str(found.get("status")) not in RESPONDABLE:
            if current is DisputeStatus.UNDER_REVIEW:
                raise ProcessorError(
                    f"Evidence for {dispute_id} is under review; it can no longer be accepted."
                )
            raise ProcessorError(f"{dispute_id} is already closed ({current.value}).")
        v1 = self._client.v1
        await self._call(
            f"Accepting {dispute_id}",
            lambda: v1.disputes.update_async(
                dispute_id,
                {"metadata": {ACCEPTED_KEY: idempotency_key}},
                {"idempotency_key": f"{idempotency_key}:mark"},
            ),
        )
        closed = await self._call(
            f"Accepting {dispute_id}",
            lambda: v1.disputes.close_async(
                dispute_id, {"expand": DISPUTE_EXPAND}, {"idempotency_key": idempotency_key}
            ),
        )
        return mapping.dispute_of(closed, self._keys)


def stripe_evidence(
    evidence: DisputeEvidence, documents: Sequence[SentDocument] = ()
) -> DisputeUpdateParamsEvidence:
    """Our evidence as Stripe's fields. Stripe takes customer communication and the refund
    policy as uploaded files; typed as text here, they go into ``uncategorized_text``. The
    documents fill the file fields in order (``FILE_FIELDS``)."""
    fields: DisputeUpdateParamsEvidence = {}
    for name, document in zip(FILE_FIELDS, documents, strict=False):
        fields[name] = document.processor_id  # type: ignore[literal-required]
    for name in ("refund_refusal_explanation", "customer_name", "customer_email_address"):
        if text := getattr(evidence, name).strip():
            fields[name] = text  # type: ignore[literal-required]
    if evidence.product_description.strip():
        fields["product_description"] = evidence.product_description.strip()
    if evidence.service_date.strip():
        fields["service_date"] = evidence.service_date.strip()
    if evidence.refund_policy.strip():
        fields["refund_policy_disclosure"] = evidence.refund_policy.strip()
    parts = [
        ("Summary", evidence.summary),
        ("Customer communication", evidence.customer_communication),
        ("Other", evidence.other),
    ]
    fields["uncategorized_text"] = "\n\n".join(
        f"{title}: {text.strip()}" for title, text in parts if text.strip()
    )
    return fields
