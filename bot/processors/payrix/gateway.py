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
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

from bot.clock import Clock, utcnow
from bot.domain import (
    Balance,
    DailyTotals,
    Dispute,
    DisputeEvidence,
    DisputeStatus,
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
    TransactionStatus,
    Withdrawal,
)
from bot.errors import ProcessorError
from bot.processors.payrix import mapping
from bot.processors.payrix.alerts import AlertGate, WebhookRefused, named_records
from bot.processors.payrix.client import PayrixClient, Term, eq, greater, less, like, sort, within
from bot.processors.payrix.codes import (
    ACCEPT_LIABILITY,
    APPROVED,
    CAPTURED,
    CARD_REFUND,
    DEAD_MESSAGES,
    DEFAULT_CURRENCY,
    ECHECK_REFUND,
    ECHECK_SALES,
    ECHECK_TYPES,
    FAILED,
    PENDING,
    REFUND_TYPES,
    REFUNDABLE_STATUSES,
    REFUNDABLE_TYPES,
    RETURNED,
    SALE_TYPES,
    SETTLED,
    TXN_STATUSES,
    TXN_TYPES,
    response_type,
)
from bot.processors.payrix.cursors import decode_page, fingerprint, page_cursors
from bot.processors.payrix.fields import Fields, description_object, matter_of
from bot.processors.payrix.models import (
    Batch,
    Chargeback,
    ChargebackDocument,
    ChargebackMessage,
    ChargebackStatus,
    Disbursement,
    EntityReturn,
    Fund,
    Merchant,
    Record,
    Txn,
    parse,
)

log = logging.getLogger("paybot.payrix")

M = TypeVar("M", bound=Record)

MAX_PAGE = 100
MAX_PAGES = 50  # a walk through every page stops here (5,000 records) rather than run on
MAX_IN = 50  # ids per ``[in]`` search, to keep the search header short
SCOPED = ("txns", "chargebacks", "batches")  # resources with a ``merchant`` to search by
EXPAND = ("payment",)
KEY_MARK = "[paybot {}]"
ALERT_MODELS: dict[str, type[Record]] = {
    "txns": Txn,
    "chargebacks": Chargeback,
    "chargebackStatuses": ChargebackStatus,
    "disbursements": Disbursement,
}
ALERT_EXPAND = {"txns": EXPAND}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID = re.compile(r"[a-z]\d_[a-z]{3}_[0-9a-z]*", re.IGNORECASE)
_AMOUNT = re.compile(r"\$?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?")


def chunks(values: Sequence[str], size: int = MAX_IN) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def minor_units(value: Decimal | None) -> int:
    """Fund balances come as cents with up to three decimals: round half to even."""
    if value is None:
        return 0
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def payrix_day(day: date) -> str:
    return f"{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


# The ``totals`` header ("totals={operator}[]={key}", eventsprout/payrix src/Controllers: "the
# calculated total in the details > totals object") and where the answer is read. Payrix's
# pages show no example answer: ``read_sums`` is the one place a firm checks against its test
# account (README); when Payrix sends no sums, the totals are walked and added up here instead.
SUMS_HEADER = "sum[]=total&count[]=id"
PAID = (PENDING, CAPTURED, SETTLED, RETURNED)
MADE = (PENDING, APPROVED, CAPTURED, SETTLED, RETURNED)


def read_sums(totals: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """(count, sum of ``total``) from ``details.totals``: ``{"sum": {"total": …}, "count":
    {"id": …}}``, the operator's value also read as a bare number or a one-item list."""
    if not totals:
        return None

    def value(operator: str, key: str) -> int | None:
        found: Any = totals.get(operator)
        if isinstance(found, list) and found:
            found = found[0]
        if isinstance(found, Mapping):
            found = found.get(key)
        try:
            return None if found is None else int(Decimal(str(found)))
        except ArithmeticError:
            return None

    count, total = value("count", "id"), value("sum", "total")
    if count is None or total is None:
        return None
    return count, total


def payrix_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def evidence_note(
    evidence: DisputeEvidence, key: str, documents: Sequence[ChargebackDocument] = ()
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
    attached = [
        f"- {d.name or d.ref or d.id} ({d.type or 'file'}, {d.id})"
        for d in documents
        if (d.status or "").casefold() not in DEAD_MESSAGES
    ]
    if attached:
        body += "\n\nDocuments attached at Payrix:\n" + "\n".join(attached)
    return f"{body}\n\n{KEY_MARK.format(key)}"


def carries_key(message: ChargebackMessage, key: str) -> bool:
    return KEY_MARK.format(key) in (message.note or "")


class PayrixGateway:
    """The Gateway protocol answered by the Payrix API for one merchant."""

    name = "payrix"

    def __init__(
        self,
        client: PayrixClient,
        merchant_id: str,
        *,
        fields: Fields | None = None,
        clock: Clock = utcnow,
        first_poll_lookback: timedelta = timedelta(days=1),
        alerts: AlertGate | None = None,
        walk_up_to: int = MAX_PAGES * MAX_PAGE,
    ) -> None:
        self._client = client
        self._merchant = merchant_id
        self._fields = fields or Fields()
        self._clock = clock
        self._lookback = first_poll_lookback
        self._entity: str | None = None
        self._alerts = alerts or AlertGate("X-Paybot-Alert-Secret", None, ())
        self._walk_up_to = walk_up_to

    # -- reading -------------------------------------------------------------------------

    def _ours(self) -> Term:
        return eq("merchant", self._merchant)

    def _mine(self, record: Txn | Chargeback | Batch) -> bool:
        return record.merchant in (None, self._merchant)

    async def _txn(self, txn_id: str) -> Txn | None:
        record = await self._client.get("txns", txn_id, expand=EXPAND)
        if record is None:
            return None
        txn = parse(Txn, record, "transaction")
        return txn if txn.id == txn_id and self._mine(txn) else None

    async def _every(
        self,
        resource: str,
        model: type[M],
        terms: Sequence[Term],
        what: str,
        *,
        expand: Sequence[str] = (),
        max_pages: int = MAX_PAGES,
    ) -> list[M]:
        """Every record a search finds, walked by id (bounded: a runaway walk is an error);
        a sort in ``terms`` is dropped, as the walk orders by id."""
        wanted = [t for t in terms if t.op != "sort"]
        records = await self._client.walk(
            resource, wanted, expand=expand, max_records=max_pages * MAX_PAGE
        )
        return [parse(model, r, what) for r in records]

    async def _by_ids(
        self, resource: str, model: type[M], field: str, ids: Iterable[str], what: str
    ) -> list[M]:
        wanted = sorted({i for i in ids if i})
        found: list[M] = []
        for group in chunks(wanted):
            terms = [within(field, group)]
            if resource in SCOPED:
                terms.append(self._ours())
            found += await self._every(resource, model, terms, what)
        return found

    async def _messages(self, chargeback_ids: Iterable[str]) -> dict[str, list[ChargebackMessage]]:
        messages: dict[str, list[ChargebackMessage]] = defaultdict(list)
        found = await self._by_ids(
            "chargebackMessages", ChargebackMessage, "chargeback", chargeback_ids, "message"
        )
        for message in found:
            messages[message.chargeback or ""].append(message)
        return messages

    async def _matters(self, txn_ids: Iterable[str]) -> dict[str, str | None]:
        txns = await self._by_ids("txns", Txn, "id", txn_ids, "transaction")
        return {t.id: matter_of(t, self._fields) for t in txns}

    async def _disputes(self, chargebacks: Sequence[Chargeback]) -> list[Dispute]:
        messages = await self._messages(cb.id for cb in chargebacks)
        matters = await self._matters(cb.txn or "" for cb in chargebacks)
        return [
            mapping.to_dispute(cb, messages.get(cb.id, ()), matters.get(cb.txn or ""))
            for cb in chargebacks
        ]

    async def returns_of(self, txn_ids: Iterable[str]) -> dict[str, EntityReturn]:
        """The latest ``/entityReturns`` record of each returned transaction: its NACHA code."""
        found: dict[str, EntityReturn] = {}
        records = await self._by_ids("entityReturns", EntityReturn, "txn", txn_ids, "return")
        for record in sorted(records, key=lambda r: (r.created or r.modified or _EPOCH, r.id)):
            found[record.txn or ""] = record
        return found

    async def _with_history(self, txns: Sequence[Txn]) -> list[Transaction]:
        """Transactions with their refunds, disputes and return codes: a few searches a page."""
        payments = [t.id for t in txns if t.type not in REFUND_TYPES]
        returned = [t.id for t in txns if t.status == RETURNED]
        codes = await self.returns_of(returned) if returned else {}
        refunds: dict[str, list[Refund]] = defaultdict(list)
        disputes: dict[str, list[Dispute]] = defaultdict(list)
        if payments:
            for refund in await self._by_ids("txns", Txn, "fortxn", payments, "refund"):
                if refund.type in REFUND_TYPES:
                    refunds[refund.fortxn or ""].append(mapping.to_refund(refund))
            chargebacks = await self._by_ids(
                "chargebacks", Chargeback, "txn", payments, "chargeback"
            )
            matters = {t.id: matter_of(t, self._fields) for t in txns}
            messages = await self._messages(cb.id for cb in chargebacks)
            for cb in chargebacks:
                dispute = mapping.to_dispute(cb, messages.get(cb.id, ()), matters.get(cb.txn or ""))
                disputes[cb.txn or ""].append(dispute)
        return [
            mapping.to_transaction(
                t,
                self._fields,
                sorted(refunds.get(t.id, ()), key=lambda r: (r.created_at, r.id)),
                sorted(disputes.get(t.id, ()), key=lambda d: (d.created_at, d.id)),
                codes.get(t.id),
            )
            for t in txns
        ]

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

    async def _created(self, resource: str, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        """POST once with our key as ``request-token``; a ``duplicateRequest`` answer is the
        record the first request made, taken as the answer to this one."""
        made = await self._client.create_once(resource, payload, request_token=key)
        if made.duplicate:
            log.info(
                "payrix %s: key %s already used; the earlier record is the answer", resource, key
            )
        return made.record

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

    # -- disputes ---------------------------------------------------------------------------

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

    async def submit_dispute_evidence(
        self, dispute_id: str, evidence: DisputeEvidence, *, idempotency_key: str
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
            "note": evidence_note(evidence, idempotency_key, await self._documents(cb.id)),
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
        payouts = [parse(Disbursement, r, "disbursement") for r in listing.records]
        withdrawals = [mapping.to_payout(d) for d in payouts if d.entity in (None, entity)]
        next_cursor, prev_cursor = page_cursors(listing_name, page, listing.has_more)
        return Page(tuple(withdrawals), next_cursor, prev_cursor)

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
        for record in sorted(records, key=lambda r: (r.created or r.modified or _EPOCH, r.id)):
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

    # -- reports ----------------------------------------------------------------------------

    async def daily_totals(self, start: date, end: date) -> list[DailyTotals]:
        """Payrix's own sums (the ``totals`` header) where it sends them, else the period's
        transactions and chargebacks read and summed here (bounded: see ``MAX_PAGES``)."""
        if end <= start:
            return []
        window = [
            greater("created", payrix_time(day_start(start) - timedelta(seconds=1))),
            less("created", payrix_time(day_start(end))),
        ]
        probe = await self._sums("txns", [self._ours(), *window])
        if probe is not None and self._sums_pay(probe[0], (end - start).days):
            summed = await self._summed_totals(start, end)
            if summed is not None:
                return summed
        return await self._walked_totals(start, end)

    def _sums_pay(self, records: int, days: int) -> bool:
        """Payrix's sums cost up to eight requests a day (four categories, split in halves);
        a walk costs one per hundred records and stops at ``walk_up_to``. Sums are asked for
        when they cost fewer requests, or when the walk could not read the period at all."""
        return records > self._walk_up_to or records / MAX_PAGE > 8 * days

    async def _sums(self, resource: str, terms: Sequence[Term]) -> tuple[int, int] | None:
        """(count, sum of ``total``) of a search, as Payrix adds them up; None when it sent none."""
        listing = await self._client.fetch(
            resource, [*terms, sort("id", "asc")], limit=1, totals=SUMS_HEADER
        )
        return read_sums(listing.totals)

    async def _summed_totals(self, start: date, end: date) -> list[DailyTotals] | None:
        """Each category summed by Payrix over the period, split in halves down to single days
        where it is not zero: a quiet month costs a few requests, not a walk of every record."""
        categories: dict[str, tuple[str, list[Term]]] = {
            "payments": (
                "txns",
                [self._ours(), within("type", SALE_TYPES), within("status", PAID)],
            ),
            "refunds": (
                "txns",
                [self._ours(), within("type", REFUND_TYPES), within("status", MADE)],
            ),
            "disputes": ("chargebacks", [self._ours()]),
            "disputes_lost": ("chargebacks", [self._ours(), eq("status", "lost")]),
        }
        days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))

        async def split(name: str, resource: str, terms: list[Term], low: date, high: date) -> bool:
            window = [
                greater("created", payrix_time(day_start(low) - timedelta(seconds=1))),
                less("created", payrix_time(day_start(high))),
            ]
            found = await self._sums(resource, [*terms, *window])
            if found is None:
                return False
            count, total = found
            if count == 0 and total == 0:
                return True
            if high - low == timedelta(days=1):
                if name == "disputes_lost":
                    days[low]["disputes_lost_minor"] += total
                else:
                    days[low][name] += count
                    days[low][f"{name}_minor"] += total
                return True
            middle = low + (high - low) / 2
            middle = low + timedelta(days=max(1, (middle - low).days))
            return await split(name, resource, terms, low, middle) and await split(
                name, resource, terms, middle, high
            )

        for name, (resource, terms) in categories.items():
            if not await split(name, resource, terms, start, end):
                return None
        low, high = day_start(start), day_start(end)
        for txn in await self._pending(low, high):
            days[mapping.when(txn).date()]["pending_minor"] += txn.total or 0
        for at, txn in await self._returned(low, high):
            days[at.date()]["returns"] += 1
            days[at.date()]["returns_minor"] += txn.total or 0
        return [
            DailyTotals(day=day, currency=DEFAULT_CURRENCY, **values)
            for day, values in sorted(days.items())
            if any(values.values())
        ]

    async def _pending(self, low: datetime, high: datetime) -> list[Txn]:
        """Payments made in the window and not settled yet (pending, or eChecks not funded):
        few, so they are read rather than summed."""
        window = [
            greater("created", payrix_time(low - timedelta(seconds=1))),
            less("created", payrix_time(high)),
        ]
        found = await self._every(
            "txns",
            Txn,
            [self._ours(), *window, within("type", SALE_TYPES), eq("status", 0)],
            "transaction",
        )
        found += await self._every(  # settled or captured, and maybe not funded yet
            "txns",
            Txn,
            [
                self._ours(),
                *window,
                within("type", ECHECK_SALES),
                within("status", REFUNDABLE_STATUSES),
            ],
            "transaction",
        )
        pending = []
        for txn in found:
            kind, _ = mapping.txn_type(txn)
            status, _ = mapping.txn_status(txn, kind)
            if status is TransactionStatus.PENDING and low <= mapping.when(txn) < high:
                pending.append(txn)
        return pending

    async def _returned(self, low: datetime, high: datetime) -> list[tuple[datetime, Txn]]:
        returned = await self._every(
            "txns",
            Txn,
            [self._ours(), eq("status", RETURNED), greater("modified", payrix_time(low))],
            "transaction",
        )
        found = []
        for txn in returned:
            at = mapping.returned_at(txn)
            if low <= at < high and txn.type not in REFUND_TYPES:
                found.append((at, txn))
        return found

    async def _walked_totals(self, start: date, end: date) -> list[DailyTotals]:
        low = datetime.combine(start, time(), tzinfo=UTC)
        high = datetime.combine(end, time(), tzinfo=UTC)
        window = [
            greater("created", payrix_time(low - timedelta(seconds=1))),
            less("created", payrix_time(high)),
        ]
        days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        currency = DEFAULT_CURRENCY

        def inside(instant: datetime | None) -> bool:
            return instant is not None and low <= instant < high

        txns = await self._every(
            "txns", Txn, [self._ours(), *window, sort("created", "asc")], "transaction"
        )
        for txn in txns:
            if not inside(txn.created) or txn.type not in TXN_TYPES:
                continue
            currency = (txn.currency or currency).upper()
            kind, _ = mapping.txn_type(txn)
            status, _ = mapping.txn_status(txn, kind)
            entry = days[mapping.when(txn).date()]
            amount = txn.total or 0
            if kind.kind is PaymentKind.REFUND:
                if status is not TransactionStatus.FAILED:
                    entry["refunds"] += 1
                    entry["refunds_minor"] += amount
            elif status in (
                TransactionStatus.SUCCEEDED,
                TransactionStatus.PENDING,
                TransactionStatus.RETURNED,
            ):
                entry["payments"] += 1
                entry["payments_minor"] += amount
                if status is TransactionStatus.PENDING:
                    entry["pending_minor"] += amount
        for at, txn in await self._returned(low, high):
            entry = days[at.date()]
            entry["returns"] += 1
            entry["returns_minor"] += txn.total or 0
        chargebacks = [
            cb
            for cb in await self._every(
                "chargebacks", Chargeback, [self._ours(), *window], "chargeback"
            )
            if inside(cb.created)
        ]
        messages = await self._messages(cb.id for cb in chargebacks)
        for cb in chargebacks:
            outcome, _ = mapping.dispute_status(cb, messages.get(cb.id, ()))
            entry = days[mapping.when(cb).date()]
            entry["disputes"] += 1
            entry["disputes_minor"] += cb.total or 0
            if outcome in (DisputeStatus.LOST, DisputeStatus.ACCEPTED):
                entry["disputes_lost_minor"] += cb.total or 0
        return [
            DailyTotals(day=day, currency=currency, **values)
            for day, values in sorted(days.items())
            if any(values.values())
        ]

    # -- events ------------------------------------------------------------------------------

    async def events(self, cursor: str | None, limit: int = 100) -> EventBatch:
        from bot.processors.payrix.events import read_feed

        return await read_feed(self, cursor, limit)

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
