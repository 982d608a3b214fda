"""The one async interface every processor adapter implements.

Refunds take no amount: the portal allows full refunds only, so a partial refund cannot be asked
for at all. Mutating calls take the caller's idempotency key, derived from our persisted request,
so a retry after a timeout or a crash is recognised by the processor (or, where the processor does
not honour keys, by the adapter itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, tzinfo
from typing import Protocol, runtime_checkable

from bot.documents import (
    DocumentFile,
    DocumentLimits,
    SentDocument,
)
from bot.domain import (
    Balance,
    DailyTotals,
    Dispute,
    EventBatch,
    Page,
    PaymentReturn,
    ProcessorEvent,
    Refund,
    Transaction,
    TransactionQuery,
    Withdrawal,
)
from bot.evidence import DisputeEvidence


@runtime_checkable
class Gateway(Protocol):
    name: str
    # What this processor takes as a dispute response's documents (domain.STRICTEST_LIMITS
    # unless it says otherwise), and which of Stripe's text evidence fields it has.
    document_limits: DocumentLimits

    async def get_transaction(self, transaction_id: str) -> Transaction | None:
        """The transaction with exactly this id, with its refunds and disputes; never a near match."""
        ...

    async def list_transactions(self, query: TransactionQuery) -> Page[Transaction]: ...

    async def refund(
        self, transaction_id: str, *, idempotency_key: str, metadata: Mapping[str, str]
    ) -> Refund:
        """Refund the whole amount. The same key returns the same refund, never a second one."""
        ...

    async def get_refund(self, refund_id: str) -> Refund | None: ...

    async def get_dispute(self, dispute_id: str) -> Dispute | None: ...

    async def list_disputes(
        self, *, open_only: bool = False, limit: int = 10, cursor: str | None = None
    ) -> Page[Dispute]: ...

    async def upload_dispute_document(
        self, dispute_id: str, document: DocumentFile, *, idempotency_key: str
    ) -> str:
        """Send one document for this dispute's response; the processor's id for it. The same
        key gives the same id, never a second upload."""
        ...

    async def submit_dispute_evidence(
        self,
        dispute_id: str,
        evidence: DisputeEvidence,
        *,
        idempotency_key: str,
        documents: Sequence[SentDocument] = (),
    ) -> Dispute:
        """Submit the response, naming the documents uploaded for it (``upload_dispute_document``)."""
        ...

    async def accept_dispute(self, dispute_id: str, *, idempotency_key: str) -> Dispute: ...

    async def list_returns(
        self, *, limit: int = 10, cursor: str | None = None
    ) -> Page[PaymentReturn]: ...

    async def list_withdrawals(
        self, *, limit: int = 10, cursor: str | None = None
    ) -> Page[Withdrawal]: ...

    async def balance(self) -> Balance: ...

    async def daily_totals(self, start: date, end: date, zone: tzinfo) -> list[DailyTotals]:
        """Activity per day of the firm's calendar (``zone``) in [start, end), oldest first,
        summed at the processor (reports and the dashboard must not page through every payment);
        days with none are left out."""
        ...

    async def events(self, cursor: str | None, limit: int = 100) -> EventBatch:
        """Events after ``cursor`` (oldest first); an unchanged cursor means nothing new."""
        ...

    async def feed_end(self) -> str | None:
        """The cursor after the feed's newest event now (None: the feed is empty), found by
        the processor's newest record, never by paging: a first start reads it on a processor
        account of any size in one or a few requests."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> tuple[ProcessorEvent, ...]:
        """Verify a webhook's signature on the raw body and read its events.

        Raises an error carrying the reason when the signature is forged, stale or missing.
        """
        ...

    async def receive_webhook(
        self, body: bytes, headers: Mapping[str, str], sender: str | None
    ) -> tuple[ProcessorEvent, ...]:
        """A webhook's events, believed the processor's way: by its signature (``parse_webhook``)
        or, for a processor that signs nothing, by a shared header, the sender's address
        (``sender``, as the web layer resolved it) and a re-read of what it names."""
        ...

    async def close(self) -> None: ...
