"""Daily totals from Stripe's charges, refunds and disputes of a period: pure summing.

Stripe's API has no per-day sums (its Reporting API runs reports asynchronously into files), so
the adapter reads the period's objects with ``created`` filters and this module adds them up.
A return is counted on its payment's day: Stripe's charge does not say when the bank sent it back.
Only ``currency`` is summed; a payment in another currency is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, tzinfo

from bot.clock import local_day
from bot.domain import DailyTotals, DisputeStatus, RefundStatus, TransactionStatus
from bot.processors.stripe.mapping import (
    REFUND_STATUSES,
    Obj,
    ach_return_code,
    dispute_status,
    plain,
    status_of,
    when,
)

MOVED = (TransactionStatus.SUCCEEDED, TransactionStatus.PENDING, TransactionStatus.RETURNED)
LOST = (DisputeStatus.LOST, DisputeStatus.ACCEPTED)


def summarise(
    charges: Iterable[Obj],
    refunds: Iterable[Obj],
    disputes: Iterable[Obj],
    start: date,
    end: date,
    currency: str,
    zone: tzinfo,
) -> list[DailyTotals]:
    """Days of the firm's calendar (``zone``) in [start, end) with any activity, oldest first."""
    days: dict[date, dict[str, int]] = {}

    def add(obj: Obj, **amounts: int) -> None:
        created = when(obj.get("created"))
        if created is None or not start <= local_day(created, zone) < end:
            return
        if str(obj.get("currency", "")).lower() != currency.lower():
            return
        entry = days.setdefault(local_day(created, zone), {})
        for name, value in amounts.items():
            entry[name] = entry.get(name, 0) + value

    for charge in map(plain, charges):
        status = status_of(charge)
        if status not in MOVED:
            continue
        amount = int(charge.get("amount") or 0)
        pending = amount if status is TransactionStatus.PENDING else 0
        add(charge, payments=1, payments_minor=amount, pending_minor=pending)
        if ach_return_code(charge) is not None:
            add(charge, returns=1, returns_minor=amount)
    for refund in map(plain, refunds):
        if REFUND_STATUSES.get(str(refund.get("status"))) is RefundStatus.FAILED:
            continue
        add(refund, refunds=1, refunds_minor=int(refund.get("amount") or 0))
    for dispute in map(plain, disputes):
        amount = int(dispute.get("amount") or 0)
        lost = amount if dispute_status(dispute) in LOST else 0
        add(dispute, disputes=1, disputes_minor=amount, disputes_lost_minor=lost)
    return [
        DailyTotals(day=day, currency=currency.upper(), **values)
        for day, values in sorted(days.items())
    ]
