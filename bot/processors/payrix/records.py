"""The Payrix gateway's base: the merchant's records read (scoped to it) and created once."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

from bot.clock import Clock, utcnow
from bot.domain import Dispute, Refund, Transaction
from bot.processors.payrix import mapping
from bot.processors.payrix.alerts import AlertGate
from bot.processors.payrix.client import PayrixClient, Term, eq, within
from bot.processors.payrix.codes import REFUND_TYPES, RETURNED
from bot.processors.payrix.fields import Fields, matter_of
from bot.processors.payrix.models import (
    EPOCH,
    Batch,
    Chargeback,
    ChargebackMessage,
    EntityReturn,
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


def payrix_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class PayrixRecords:
    """What every part of the gateway stands on: the client, the merchant and its records."""

    def __init__(
        self,
        client: PayrixClient,
        merchant_id: str,
        *,
        fields: Fields | None = None,
        clock: Clock = utcnow,
        first_poll_lookback: timedelta = timedelta(days=1),
        alerts: AlertGate | None = None,
    ) -> None:
        self._client = client
        self._merchant = merchant_id
        self._fields = fields or Fields()
        self._clock = clock
        self._lookback = first_poll_lookback
        self._entity: str | None = None
        self._alerts = alerts or AlertGate("X-Paybot-Alert-Secret", None, ())

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
        for record in sorted(records, key=lambda r: (r.created or r.modified or EPOCH, r.id)):
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

    async def _created(self, resource: str, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        """POST once with our key as ``request-token``; a ``duplicateRequest`` answer is the
        record the first request made, taken as the answer to this one."""
        made = await self._client.create_once(resource, payload, request_token=key)
        if made.duplicate:
            log.info(
                "payrix %s: key %s already used; the earlier record is the answer", resource, key
            )
        return made.record
