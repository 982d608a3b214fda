"""The Payrix processor as the bot sees it: the Gateway protocol over the Payrix REST API.

Every read is scoped to the configured merchant (an API key can see several). Refunds are a
``type 5`` (card) or ``type 8`` (eCheck) transaction for the whole amount with ``fortxn`` = the
payment; dispute answers and liability acceptances are ``chargebackMessages`` (the type each
cycle takes: ``codes.CONTEST_BY_CYCLE``). Each write carries our idempotency key twice: as
Payrix's ``request-token`` header (Payrix answers a repeated token with the first response,
flagged ``duplicateRequest``, for 48 hours) and inside the record itself, where the adapter looks
for it before writing, so a retry days later still finds the first refund instead of making a
second. Withdrawals are ``/disbursements``; alerts are believed as ``alerts.py`` says.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.domain import (
    Balance,
    Dispute,
    EventBatch,
    HistorySort,
    Money,
    Page,
    PaymentKind,
    PaymentReturn,
    ProcessorEvent,
    Refund,
    Transaction,
    TransactionQuery,
    Withdrawal,
)
from bot.errors import ProcessorError
from bot.processors.payrix import mapping
from bot.processors.payrix.alerts import WebhookRefused, named_records
from bot.processors.payrix.client import PayrixClient, Term, eq, like, sort, within
from bot.processors.payrix.codes import (
    APPROVED,
    CARD_REFUND,
    DEFAULT_CURRENCY,
    ECHECK_REFUND,
    ECHECK_SALES,
    ECHECK_TYPES,
    FAILED,
    REFUND_TYPES,
    REFUNDABLE_STATUSES,
    REFUNDABLE_TYPES,
    RETURNED,
    TXN_STATUSES,
    TXN_TYPES,
)
from bot.processors.payrix.cursors import decode_page, fingerprint, page_cursors
from bot.processors.payrix.disputes import PayrixDisputes
from bot.processors.payrix.fields import Fields, description_object
from bot.processors.payrix.models import (
    EPOCH,
    Batch,
    Chargeback,
    ChargebackStatus,
    Disbursement,
    DisbursementEntry,
    EntityReturn,
    Fund,
    Merchant,
    Record,
    Txn,
    parse,
)
from bot.processors.payrix.records import EXPAND, MAX_PAGE, minor_units
from bot.processors.payrix.totals import PayrixTotals

ALERT_MODELS: dict[str, type[Record]] = {
    "txns": Txn,
    "chargebacks": Chargeback,
    "chargebackStatuses": ChargebackStatus,
    "disbursements": Disbursement,
}
ALERT_EXPAND = {"txns": EXPAND}
_ID = re.compile(r"[a-z]\d_[a-z]{3}_[0-9a-z]*", re.IGNORECASE)
_AMOUNT = re.compile(r"\$?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?")


class PayrixGateway(PayrixDisputes, PayrixTotals):
    """The Gateway protocol answered by the Payrix API for one merchant."""

    name = "payrix"

    # -- transactions ----------------------------------------------------------------------

    async def get_transaction(self, transaction_id: str) -> Transaction | None:
        txn = await self._txn(transaction_id)
        if txn is None:
            return None
        return (await self._with_history([txn]))[0]

    def _search_modes(self, text: str) -> tuple[str, ...]:
        """``t1_txn_6941…`` is the start of an id and ``125.50`` an exact amount; other text is
        looked for where the matter lives, then (when that finds nothing) in the customer's last
        name: Payrix's search has no "or", so the two are tried one after the other."""
        if not text:
            return ("all",)
        if _ID.fullmatch(text):
            return ("id",)
        if _AMOUNT.fullmatch(text):
            try:
                Money.parse(text)
                return ("amount",)
            except ValueError:
                pass
        if self._fields.matter.source == "none":
            return ("name",)
        return ("matter", "name")

    def _search_terms(self, text: str, mode: str) -> list[Term]:
        if mode == "id":
            return [like("id", f"{text}%")]
        if mode == "amount":
            return [eq("total", Money.parse(text).minor)]
        if mode == "matter":
            return [like(self._fields.matter.source, f"%{text}%")]
        if mode == "name":
            return [like("last", f"%{text}%")]
        return []

    async def list_transactions(self, query: TransactionQuery) -> Page[Transaction]:
        text = (query.search or "").strip()
        kind = PaymentKind(query.kind) if query.kind is not None else None
        order = HistorySort(query.sort)
        limit = max(1, min(query.limit, MAX_PAGE))
        terms = [self._ours()]
        if kind is not None:
            terms.append(within("type", [c for c, t in TXN_TYPES.items() if t.kind is kind]))
        by = {
            HistorySort.NEWEST: [sort("created", "desc"), sort("id", "desc")],
            HistorySort.OLDEST: [sort("created", "asc"), sort("id", "asc")],
            HistorySort.AMOUNT: [sort("total", "desc"), sort("id", "desc")],
        }[order]
        modes = self._search_modes(text)
        for mode in modes:
            last = mode == modes[-1]
            listing_name = fingerprint("txns", kind, order, text, mode, limit)
            page = 1
            if query.cursor is not None:
                try:
                    page = decode_page(listing_name, query.cursor)
                except ProcessorError:
                    if last:
                        raise
                    continue
            wanted = [*terms, *self._search_terms(text, mode), *by]
            listing = await self._client.fetch(
                "txns", wanted, page=page, limit=limit, expand=EXPAND
            )
            if query.cursor is None and not listing.records and not last:
                continue
            txns = [parse(Txn, r, "transaction") for r in listing.records]
            items = await self._with_history([t for t in txns if self._mine(t)])
            next_cursor, prev_cursor = page_cursors(listing_name, page, listing.has_more)
            return Page(tuple(items), next_cursor, prev_cursor)
        return Page(())

    # -- refunds ---------------------------------------------------------------------------

    async def _refunds_of(self, transaction_id: str) -> list[Txn]:
        found = await self._every(
            "txns",
            Txn,
            [eq("fortxn", transaction_id), within("type", REFUND_TYPES), self._ours()],
            "refund",
        )
        return [t for t in found if t.fortxn == transaction_id]

    @staticmethod
    def _ours_by_key(refunds: Iterable[Txn], key: str) -> Txn | None:
        for refund in refunds:
            found = description_object(refund.description) or {}
            if found.get("paybot") == key:
                return refund
        return None

    @staticmethod
    def _refusal(original: Txn, others: Sequence[Txn]) -> str | None:
        """Why Payrix would not (or must not) refund this payment in full now."""
        tid = original.id
        kind, _ = mapping.txn_type(original)
        if original.type in REFUND_TYPES:
            return f"{tid} is itself a refund; a refund cannot be refunded."
        if original.type not in REFUNDABLE_TYPES:
            return f"{tid} is a Payrix {kind.label}; it cannot be refunded."
        live = [t for t in others if t.status != FAILED]
        if live:
            return f"{tid} has already been refunded ({live[0].id})."
        if original.refunded:
            already = mapping.money(original.refunded, original.currency)
            return f"Payrix shows {already} of {tid} already refunded; only full refunds are made."
        status = original.status
        if status == APPROVED:
            return (
                f"{tid} is approved but not captured yet: Payrix refunds captured or settled "
                "payments only (an approved one can be reversed in the Payrix portal)."
            )
        if status not in REFUNDABLE_STATUSES:
            label = TXN_STATUSES.get(status, f"status {status}") if status is not None else "?"
            return f"{tid} is {label} at Payrix; only captured or settled payments are refunded."
        if original.type in ECHECK_SALES and original.funded is None:
            return f"{tid}: {mapping.UNFUNDED_ECHECK}"
        if original.type in ECHECK_SALES and not (
            (original.first or "").strip() or (original.last or "").strip()
        ):
            return (
                f"Payrix needs the payer's name to refund the eCheck {tid}, and it has none; "
                "refund it in the Payrix portal."
            )
        return None

    async def refund(
        self, transaction_id: str, *, idempotency_key: str, metadata: Mapping[str, str]
    ) -> Refund:
        """Look for our refund first (by the key in its description), then make it once."""
        if not idempotency_key:
            raise ProcessorError("a refund needs an idempotency key")
        original = await self._txn(transaction_id)
        if original is None:
            raise ProcessorError(f"There is no Payrix transaction {transaction_id} to refund.")
        others = await self._refunds_of(original.id)
        ours = self._ours_by_key(others, idempotency_key)
        if ours is not None:
            return mapping.to_refund(ours)
        refusal = self._refusal(original, others)
        if refusal is not None:
            raise ProcessorError(refusal)
        amount = original.approved if original.approved is not None else original.total
        if not amount:
            raise ProcessorError(f"Payrix shows no amount on {original.id} to refund.")
        payload: dict[str, Any] = {
            "merchant": self._merchant,
            "type": ECHECK_REFUND if original.type in ECHECK_TYPES else CARD_REFUND,
            "fortxn": original.id,
            "total": amount,
            "description": self._refund_description(original, idempotency_key, metadata),
        }
        if original.order:
            payload["order"] = original.order
        if original.type in ECHECK_SALES:
            # "For eCheck transactions, either first or last is required" (txns-post-request.md);
            # the name is the payer's, as on the payment.
            for name, value in (("first", original.first), ("last", original.last)):
                if (value or "").strip():
                    payload[name] = (value or "").strip()
        try:
            record = await self._created("txns", payload, idempotency_key)
        except ProcessorError:
            again = self._ours_by_key(await self._refunds_of(original.id), idempotency_key)
            if again is not None:
                return mapping.to_refund(again)
            raise
        made = parse(Txn, record, "refund")
        if made.fortxn not in (None, original.id):
            raise ProcessorError(
                f"Payrix answered the refund of {original.id} with {made.id}, a transaction for "
                f"{made.fortxn}; check the Payrix portal."
            )
        refund = mapping.to_refund(made)
        return refund if refund.transaction_id else replace(refund, transaction_id=original.id)

    def _refund_description(self, original: Txn, key: str, metadata: Mapping[str, str]) -> str:
        """The original's description object (so the refund keeps its matter and account) with
        our key; Payrix keeps up to 1,000 characters."""
        kept = description_object(original.description) or {}
        text_key = self._fields.text.keys[-1] if self._fields.text.keys else "description"
        found = {
            **{k: v for k, v in kept.items() if not str(k).startswith("paybot")},
            text_key: f"Refund of {original.id}",
            "paybot": key,
        }
        if metadata.get("paybot_request"):
            found["paybotRequest"] = metadata["paybot_request"]
        text = json.dumps(found, separators=(",", ":"))
        if len(text) > 1000:
            text = json.dumps({text_key: f"Refund of {original.id}", "paybot": key})
        return text

    async def get_refund(self, refund_id: str) -> Refund | None:
        txn = await self._txn(refund_id)
        if txn is None or txn.type not in REFUND_TYPES:
            return None
        return mapping.to_refund(txn)

    # -- returns, withdrawals, balance -----------------------------------------------------

    async def list_returns(
        self, *, limit: int = 10, cursor: str | None = None
    ) -> Page[PaymentReturn]:
        """Returned payments (txn status 5), each with its NACHA code from ``/entityReturns``."""
        listing_name = fingerprint("returns", limit)
        page = decode_page(listing_name, cursor)
        terms = [
            self._ours(),
            eq("status", RETURNED),
            sort("modified", "desc"),
            sort("id", "desc"),
        ]
        listing = await self._client.fetch("txns", terms, page=page, limit=limit)
        txns = [
            t
            for t in (parse(Txn, r, "transaction") for r in listing.records)
            if self._mine(t) and t.type not in REFUND_TYPES
        ]
        codes = await self.returns_of(t.id for t in txns)
        returns = tuple(mapping.to_return(t, self._fields, codes.get(t.id)) for t in txns)
        next_cursor, prev_cursor = page_cursors(listing_name, page, listing.has_more)
        return Page(returns, next_cursor, prev_cursor)

    async def _batch_txns(self, batch_ids: Iterable[str]) -> dict[str, list[Txn]]:
        grouped: dict[str, list[Txn]] = defaultdict(list)
        for txn in await self._by_ids("txns", Txn, "batch", batch_ids, "transaction"):
            grouped[txn.batch or ""].append(txn)
        for txns in grouped.values():
            txns.sort(key=lambda t: (mapping.when(t), t.id))
        return grouped

    async def _withdrawals(self, batches: Sequence[Batch]) -> list[Withdrawal]:
        grouped = await self._batch_txns(b.id for b in batches)
        currency = self._currency(t for txns in grouped.values() for t in txns)
        return [mapping.to_withdrawal(b, grouped.get(b.id, []), currency) for b in batches]

    @staticmethod
    def _currency(txns: Iterable[Txn]) -> str:
        return next((t.currency.upper() for t in txns if t.currency), DEFAULT_CURRENCY)

    async def list_withdrawals(
        self, *, limit: int = 10, cursor: str | None = None
    ) -> Page[Withdrawal]:
        """Payrix's payouts to the firm's bank, ``/disbursements`` of the merchant's entity,
        newest first: the net amount (after fees, reserves and chargebacks) and its status."""
        listing_name = fingerprint("disbursements", limit)
        page = decode_page(listing_name, cursor)
        entity = await self._merchant_entity()
        if entity is None:
            return Page(())
        terms = [eq("entity", entity), sort("created", "desc"), sort("id", "desc")]
        listing = await self._client.fetch("disbursements", terms, page=page, limit=limit)
        payouts = [
            d
            for d in (parse(Disbursement, r, "disbursement") for r in listing.records)
            if d.entity in (None, entity)
        ]
        paid = await self._paid_out(d.id for d in payouts)
        withdrawals = [mapping.to_payout(d, paid.get(d.id, ())) for d in payouts]
        next_cursor, prev_cursor = page_cursors(listing_name, page, listing.has_more)
        return Page(tuple(withdrawals), next_cursor, prev_cursor)

    async def _paid_out(self, disbursement_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The transactions of each payout, from its ``/disbursementEntries``: one search for a
        page of payouts (``disbursement[in]=…``), not one per payout."""
        entries = await self._by_ids(
            "disbursementEntries",
            DisbursementEntry,
            "disbursement",
            disbursement_ids,
            "disbursement entry",
        )
        return mapping.paid_out(entries)

    async def list_batches(self, *, limit: int = 10, cursor: str | None = None) -> Page[Withdrawal]:
        """Settlement batches, newest first, each with the transactions it settled (what a
        disbursement pays out, batch by batch); shown by ``paybot payrix batches``."""
        listing_name = fingerprint("batches", limit)
        page = decode_page(listing_name, cursor)
        terms = [self._ours(), sort("created", "desc"), sort("id", "desc")]
        listing = await self._client.fetch("batches", terms, page=page, limit=limit)
        batches = [parse(Batch, r, "batch") for r in listing.records]
        withdrawals = await self._withdrawals([b for b in batches if self._mine(b)])
        next_cursor, prev_cursor = page_cursors(listing_name, page, listing.has_more)
        return Page(tuple(withdrawals), next_cursor, prev_cursor)

    async def payout_returns(self, disbursement_ids: Iterable[str]) -> dict[str, EntityReturn]:
        """The ``/entityReturns`` record of each returned payout: the code its bank sent."""
        found: dict[str, EntityReturn] = {}
        records = await self._by_ids(
            "entityReturns", EntityReturn, "disbursement", disbursement_ids, "return"
        )
        for record in sorted(records, key=lambda r: (r.created or r.modified or EPOCH, r.id)):
            found[record.disbursement or ""] = record
        return found

    async def _merchant_entity(self) -> str | None:
        if self._entity is None:
            record = await self._client.get("merchants", self._merchant)
            if record is None:
                raise ProcessorError(
                    f"Payrix knows no merchant {self._merchant}: check PAYRIX_MERCHANT_ID."
                )
            self._entity = parse(Merchant, record, "merchant").entity or ""
        return self._entity or None

    async def balance(self) -> Balance:
        """The merchant entity's Payrix fund: ``available`` to pay out, ``pending`` not yet."""
        entity = await self._merchant_entity()
        if entity is None:
            return Balance(Money(0), Money(0))
        funds = await self._every("funds", Fund, [eq("entity", entity)], "fund", max_pages=1)
        fund = next((f for f in funds if f.entity == entity), None)
        if fund is None:
            return Balance(Money(0), Money(0))
        currency = (fund.currency or DEFAULT_CURRENCY).upper()
        return Balance(
            available=Money(minor_units(fund.available), currency),
            pending=Money(minor_units(fund.pending), currency),
        )

    # -- events ------------------------------------------------------------------------------

    async def events(self, cursor: str | None, limit: int = 100) -> EventBatch:
        from bot.processors.payrix.events import read_feed

        return await read_feed(self, cursor, limit)

    async def feed_end(self) -> str | None:
        from bot.processors.payrix.events import feed_end

        return await feed_end(self)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> tuple[ProcessorEvent, ...]:
        raise WebhookRefused(
            "A Payrix alert is believed only with its sender's address; it is read by "
            "receive_webhook."
        )

    async def receive_webhook(
        self, body: bytes, headers: Mapping[str, str], sender: str | None
    ) -> tuple[ProcessorEvent, ...]:
        """An alert with the secret header from an allowed address names records; each is read
        again from the API and only what the API says becomes events (the feed's own ids, so an
        alert and the poller store each change once)."""
        from bot.processors.payrix.events import record_events

        self._alerts.check(headers, sender)
        records: list[Record] = []
        for resource, record_id in named_records(body):
            found = await self._client.get(
                resource, record_id, expand=ALERT_EXPAND.get(resource, ())
            )
            record = parse(ALERT_MODELS[resource], found, resource) if found else None
            if record is None or getattr(record, "merchant", None) not in (None, self._merchant):
                raise WebhookRefused(
                    f"Payrix has no {resource} record {record_id} of this merchant."
                )
            if isinstance(record, Disbursement) and record.entity not in (
                None,
                await self._merchant_entity(),
            ):
                raise WebhookRefused(f"Payrix has no disbursement {record_id} of this merchant.")
            records.append(record)
        return tuple(await record_events(self, records))

    async def close(self) -> None:
        await self._client.close()

    # -- for the event feed -----------------------------------------------------------------

    @property
    def client(self) -> PayrixClient:
        return self._client

    @property
    def merchant_id(self) -> str:
        return self._merchant

    @property
    def fields(self) -> Fields:
        return self._fields

    def now(self) -> datetime:
        return self._clock()

    @property
    def first_poll_lookback(self) -> timedelta:
        return self._lookback

    async def disputes_for(self, chargebacks: Sequence[Chargeback]) -> list[Dispute]:
        return await self._disputes(chargebacks)

    async def chargebacks(self, ids: Iterable[str]) -> list[Chargeback]:
        return [
            cb
            for cb in await self._by_ids("chargebacks", Chargeback, "id", ids, "chargeback")
            if self._mine(cb)
        ]

    async def entity(self) -> str | None:
        return await self._merchant_entity()
