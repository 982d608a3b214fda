"""Payrix chargebacks as disputes: read, answered and accepted (``chargebackMessages``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from bot.documents import (
    STRICTEST_LIMITS,
    DocumentFile,
    SentDocument,
    kind_of,
)
from bot.domain import Dispute, DisputeStatus, Page
from bot.errors import ProcessorError
from bot.evidence import DisputeEvidence
from bot.processors.payrix import mapping
from bot.processors.payrix.client import eq, sort
from bot.processors.payrix.codes import (
    ACCEPT_LIABILITY,
    DEAD_MESSAGES,
    DEFAULT_CURRENCY,
    response_type,
)
from bot.processors.payrix.cursors import decode_page, fingerprint, page_cursors
from bot.processors.payrix.models import Chargeback, ChargebackDocument, ChargebackMessage, parse
from bot.processors.payrix.records import KEY_MARK, PayrixRecords, payrix_day


def evidence_note(
    evidence: DisputeEvidence,
    key: str,
    documents: Sequence[ChargebackDocument] = (),
    sent: Sequence[SentDocument] = (),
) -> str:
    """The answer as the issuer will read it: our text, the documents already attached to the
    chargeback at Payrix (uploaded in its portal), and our key so a retry recognises it."""
    sections = (
        ("Summary", evidence.summary),
        ("Service provided", evidence.product_description),
        ("Communication with the customer", evidence.customer_communication),
        ("Date of service", evidence.service_date),
        ("Refund policy", evidence.refund_policy),
        ("Other", evidence.other),
    )
    body = "\n\n".join(f"{title}:\n{text.strip()}" for title, text in sections if text.strip())
    ours = {d.processor_id for d in sent}
    attached = [
        f"- {d.name or d.ref or d.id} ({d.type or 'file'}, {d.id})"
        for d in documents
        if (d.status or "").casefold() not in DEAD_MESSAGES and d.id not in ours
    ]
    if sent:
        body += "\n\nDocuments sent with this response:\n" + "\n".join(
            f"- {d.name} ({d.processor_id})" for d in sent
        )
    if attached:
        body += "\n\nDocuments attached at Payrix:\n" + "\n".join(attached)
    return f"{body}\n\n{KEY_MARK.format(key)}"


def carries_key(message: ChargebackMessage, key: str) -> bool:
    return KEY_MARK.format(key) in (message.note or "")


class PayrixDisputes(PayrixRecords):
    """The dispute part of the gateway."""

    document_limits = STRICTEST_LIMITS  # the limits quoted for Payrix are the strictest known

    async def _chargeback(self, dispute_id: str) -> Chargeback | None:
        record = await self._client.get("chargebacks", dispute_id)
        if record is None:
            return None
        cb = parse(Chargeback, record, "chargeback")
        return cb if cb.id == dispute_id and self._mine(cb) else None

    async def get_dispute(self, dispute_id: str) -> Dispute | None:
        cb = await self._chargeback(dispute_id)
        return None if cb is None else (await self._disputes([cb]))[0]

    async def list_disputes(
        self, *, open_only: bool = False, limit: int = 10, cursor: str | None = None
    ) -> Page[Dispute]:
        """Soonest reply-by date first: the dispute that needs an answer before the others."""
        listing_name = fingerprint("chargebacks", open_only, limit)
        page = decode_page(listing_name, cursor)
        terms = [self._ours()]
        if open_only:
            terms.append(eq("status", "open"))
        terms += [sort("reply", "asc"), sort("id", "asc")]
        listing = await self._client.fetch("chargebacks", terms, page=page, limit=limit)
        chargebacks = [parse(Chargeback, r, "chargeback") for r in listing.records]
        disputes = await self._disputes([cb for cb in chargebacks if self._mine(cb)])
        if open_only:
            disputes = [d for d in disputes if d.status.is_open]
        next_cursor, prev_cursor = page_cursors(listing_name, page, listing.has_more)
        return Page(tuple(disputes), next_cursor, prev_cursor)

    async def _answerable(self, dispute_id: str) -> tuple[Chargeback, list[ChargebackMessage]]:
        cb = await self._chargeback(dispute_id)
        if cb is None:
            raise ProcessorError(f"There is no Payrix chargeback {dispute_id}.")
        messages = (await self._messages([cb.id])).get(cb.id, [])
        return cb, messages

    async def _documents(self, dispute_id: str) -> list[ChargebackDocument]:
        found = await self._every(
            "chargebackDocuments",
            ChargebackDocument,
            [eq("chargeback", dispute_id), sort("created", "asc")],
            "chargeback document",
        )
        return [d for d in found if d.chargeback == dispute_id]

    async def _matter_of(self, cb: Chargeback) -> str | None:
        return (await self._matters([cb.txn or ""])).get(cb.txn or "") if cb.txn else None

    async def upload_dispute_document(
        self, dispute_id: str, document: DocumentFile, *, idempotency_key: str
    ) -> str:
        """Payrix's way ("respond to a chargeback dispute using the API"): a chargebackDocuments
        record, then its bytes as multipart to /files/chargebackDocuments/{id}. Our key rides as
        the record's request-token and in its description, so a retry finds the record (and a
        record whose bytes arrived has a ``ref``) instead of making another."""
        mark = KEY_MARK.format(idempotency_key)
        found = next(
            (d for d in await self._documents(dispute_id) if mark in (d.description or "")), None
        )
        if found is None:
            kind = kind_of(document.name)
            payload = {
                "chargeback": dispute_id,
                "type": "jpg" if kind == "jpeg" else kind,
                "name": document.name,
                "description": f"Sent by Paybot {mark}",
            }
            record = await self._created("chargebackDocuments", payload, idempotency_key)
            found = parse(ChargebackDocument, record, "chargeback document")
        if not found.ref:
            await self._client.upload(
                f"/files/chargebackDocuments/{quote(found.id, safe='')}",
                document.name,
                document.mimetype,
                document.content,
            )
        return found.id

    async def submit_dispute_evidence(
        self,
        dispute_id: str,
        evidence: DisputeEvidence,
        *,
        idempotency_key: str,
        documents: Sequence[SentDocument] = (),
    ) -> Dispute:
        if not evidence.summary.strip():
            raise ProcessorError("Evidence needs at least a summary.")
        cb, messages = await self._answerable(dispute_id)
        matter_id = await self._matter_of(cb)
        if any(carries_key(m, idempotency_key) for m in mapping._live(messages)):
            return mapping.to_dispute(cb, messages, matter_id)
        status, _ = mapping.dispute_status(cb, messages)
        if status is DisputeStatus.UNDER_REVIEW:
            raise ProcessorError(
                f"Payrix is not taking responses to {cb.id} now (cycle {cb.cycle or '?'}); "
                "the dispute is under review."
            )
        if status is not DisputeStatus.NEEDS_RESPONSE:
            raise ProcessorError(f"{cb.id} is {status.value} at Payrix; it takes no evidence.")
        contest = response_type(cb.cycle)
        if contest is None:
            raise ProcessorError(
                f"Payrix's {cb.cycle or 'unknown'} cycle of {cb.id} has no response Paybot can "
                "send; answer it in the Payrix portal or through Payrix support."
            )
        deadline, _ = mapping.respond_by(cb)
        now = self._clock()
        if now > deadline:
            raise ProcessorError(
                f"The deadline to respond to {cb.id} passed on {deadline:%Y-%m-%d} "
                "(Payrix reply-by date); it can no longer be contested."
            )
        payload = {
            "chargeback": cb.id,
            "type": contest[0],
            "date": payrix_day(now.date()),
            "note": evidence_note(
                evidence, idempotency_key, await self._documents(cb.id), documents
            ),
        }
        made = await self._message(cb, payload, idempotency_key)
        return mapping.to_dispute(cb, [*messages, made], matter_id)

    async def accept_dispute(self, dispute_id: str, *, idempotency_key: str) -> Dispute:
        """Concede the whole amount: the cardholder keeps the money. Accepting twice is a no-op."""
        cb, messages = await self._answerable(dispute_id)
        matter_id = await self._matter_of(cb)
        status, _ = mapping.dispute_status(cb, messages)
        if status is DisputeStatus.ACCEPTED:
            return mapping.to_dispute(cb, messages, matter_id)
        if status is DisputeStatus.UNDER_REVIEW:
            raise ProcessorError(
                f"Payrix is not taking responses to {cb.id} now (under review); it cannot be accepted."
            )
        if status is not DisputeStatus.NEEDS_RESPONSE:
            raise ProcessorError(f"{cb.id} is already {status.value} at Payrix.")
        payload = {
            "chargeback": cb.id,
            "type": ACCEPT_LIABILITY,
            "date": payrix_day(self._clock().date()),
            "amount": cb.total,
            "currency": cb.currency or DEFAULT_CURRENCY,
            "note": f"Liability accepted through Paybot {KEY_MARK.format(idempotency_key)}",
        }
        made = await self._message(cb, payload, idempotency_key)
        return mapping.to_dispute(cb, [*messages, made], matter_id)

    async def _message(
        self, cb: Chargeback, payload: Mapping[str, Any], key: str
    ) -> ChargebackMessage:
        try:
            record = await self._created("chargebackMessages", payload, key)
        except ProcessorError:
            again = (await self._messages([cb.id])).get(cb.id, [])
            found = next((m for m in mapping._live(again) if carries_key(m, key)), None)
            if found is not None:
                return found
            raise
        made = parse(ChargebackMessage, record, "chargeback message")
        if (made.status or "").casefold() in DEAD_MESSAGES:
            raise ProcessorError(f"Payrix {made.status} the {made.type} message for {cb.id}.")
        return made
