"""Daily totals from Payrix: its own sums where it sends them, else the period walked and added."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from bot.clock import day_start, local_day
from bot.domain import DailyTotals, DisputeStatus, PaymentKind, TransactionStatus
from bot.processors.payrix import mapping
from bot.processors.payrix.client import Term, eq, greater, less, outside, sort, within
from bot.processors.payrix.codes import (
    APPROVED,
    CAPTURED,
    DEFAULT_CURRENCY,
    ECHECK_SALES,
    PENDING,
    REFUND_TYPES,
    REFUNDABLE_STATUSES,
    RETURNED,
    SALE_TYPES,
    SETTLED,
    TXN_TYPES,
)
from bot.processors.payrix.models import Chargeback, ChargebackMessage, Txn
from bot.processors.payrix.records import PayrixRecords, payrix_time

# The ``totals`` header ("totals={operator}[]={key}", eventsprout/payrix src/Controllers: "the
# calculated total in the details > totals object") and where the answer is read. Payrix's
# pages show no example answer: ``read_sums`` is the one place a firm checks against its test
# account (README); when Payrix sends no sums, the totals are walked and added up here instead.
SUMS_HEADER = "sum[]=total&count[]=id"
PAID = (PENDING, CAPTURED, SETTLED, RETURNED)
LOST = "lost"
SETTLED_OUTCOMES = (LOST, "won")  # every other chargeback status may still count as lost
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


def made_within(low: datetime, high: datetime) -> list[Term]:
    """``created`` in [low, high): Payrix's ``greater`` is strict and its times are seconds."""
    return [
        greater("created", payrix_time(low - timedelta(seconds=1))),
        less("created", payrix_time(high)),
    ]


def counts_as_lost(cb: Chargeback, messages: Sequence[ChargebackMessage]) -> bool:
    """A day's lost disputes: Payrix's ``lost``, liability accepted (unless won), or closed in a
    lost cycle, as the dispute's own badge says (``mapping.dispute_status``)."""
    outcome, _ = mapping.dispute_status(cb, messages)
    return outcome in (DisputeStatus.LOST, DisputeStatus.ACCEPTED)


class PayrixTotals(PayrixRecords):
    """The ``daily_totals`` part of the gateway."""

    async def daily_totals(self, start: date, end: date, zone: tzinfo) -> list[DailyTotals]:
        """Payrix's own sums (the ``totals`` header) whenever its first answer carries them,
        else the period's transactions and chargebacks read and summed here (bounded: see
        ``MAX_PAGES``). Both count the same things, so they agree on the same records."""
        if end <= start:
            return []
        summed = await self._summed_totals(start, end, zone)
        if summed is not None:
            return summed
        return await self._walked_totals(start, end, zone)

    async def _sums(self, resource: str, terms: Sequence[Term]) -> tuple[int, int] | None:
        """(count, sum of ``total``) of a search, as Payrix adds them up; None when it sent none."""
        listing = await self._client.fetch(
            resource, [*terms, sort("id", "asc")], limit=1, totals=SUMS_HEADER
        )
        return read_sums(listing.totals)

    async def _summed_totals(
        self, start: date, end: date, zone: tzinfo
    ) -> list[DailyTotals] | None:
        """Each category summed by Payrix over the period, then per day: split in halves where
        it is not zero (a quiet month costs a few requests), or day by day at once where it has
        at least as many records as days (a busy one costs a request a day, not a walk)."""
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
            "disputes_lost": ("chargebacks", [self._ours(), eq("status", LOST)]),
        }
        days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))

        async def split(name: str, resource: str, terms: list[Term], low: date, high: date) -> bool:
            found = await self._sums(
                resource, [*terms, *made_within(day_start(low, zone), day_start(high, zone))]
            )
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
            span = (high - low).days
            if count >= span:  # busy: a request a day costs less than halving down to each day
                cuts = [low + timedelta(days=n) for n in range(span + 1)]
            else:
                cuts = [low, low + timedelta(days=max(1, span // 2)), high]
            for part_low, part_high in itertools.pairwise(cuts):
                if not await split(name, resource, terms, part_low, part_high):
                    return False
            return True

        for name, (resource, terms) in categories.items():
            if not await split(name, resource, terms, start, end):
                return None
        low, high = day_start(start, zone), day_start(end, zone)
        for cb in await self._lost_unsettled(low, high):
            days[local_day(mapping.when(cb), zone)]["disputes_lost_minor"] += cb.total or 0
        for txn in await self._pending(low, high):
            days[local_day(mapping.when(txn), zone)]["pending_minor"] += txn.total or 0
        for at, txn in await self._returned(low, high):
            days[local_day(at, zone)]["returns"] += 1
            days[local_day(at, zone)]["returns_minor"] += txn.total or 0
        return [
            DailyTotals(day=day, currency=DEFAULT_CURRENCY, **values)
            for day, values in sorted(days.items())
            if any(values.values())
        ]

    async def _lost_unsettled(self, low: datetime, high: datetime) -> list[Chargeback]:
        """Chargebacks made in the window that count as lost while Payrix does not say ``lost``
        (that is summed apart): liability accepted on a case still open or closed, or closed in
        a lost cycle. Only cases neither lost nor won are read, with their messages."""
        window = made_within(low, high)
        found = [
            cb
            for cb in await self._every(
                "chargebacks",
                Chargeback,
                [self._ours(), *window, outside("status", SETTLED_OUTCOMES)],
                "chargeback",
            )
            if low <= mapping.when(cb) < high and (cb.status or "").strip() not in SETTLED_OUTCOMES
        ]
        messages = await self._messages(cb.id for cb in found) if found else {}
        return [cb for cb in found if counts_as_lost(cb, messages.get(cb.id, ()))]

    async def _pending(self, low: datetime, high: datetime) -> list[Txn]:
        """Payments made in the window and not settled yet (pending, or eChecks not funded):
        few, so they are read rather than summed."""
        window = made_within(low, high)
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

    async def _walked_totals(self, start: date, end: date, zone: tzinfo) -> list[DailyTotals]:
        low, high = day_start(start, zone), day_start(end, zone)
        window = made_within(low, high)
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
            entry = days[local_day(mapping.when(txn), zone)]
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
            entry = days[local_day(at, zone)]
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
            entry = days[local_day(mapping.when(cb), zone)]
            entry["disputes"] += 1
            entry["disputes_minor"] += cb.total or 0
            if counts_as_lost(cb, messages.get(cb.id, ())):
                entry["disputes_lost_minor"] += cb.total or 0
        return [
            DailyTotals(day=day, currency=currency, **values)
            for day, values in sorted(days.items())
            if any(values.values())
        ]
