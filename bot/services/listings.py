"""The portal's lists of disputes (soonest deadline first), returns (with what each code means) and
withdrawals (with the balance and the payments each one paid out)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.clock import UTC_CLOCK, FirmClock, local_day
from bot.domain import Dispute, DisputeStatus, Money, Transaction
from bot.errors import InvalidInput
from bot.nacha import describe_return
from bot.overview import DisputeLine, DisputeList, Listing, ReturnLine, WithdrawalsView
from bot.processors.gateway import Gateway

PAGE_SIZE = 10
PAYMENTS_SHOWN = 15  # of an expanded withdrawal; the rest are counted


def parse_dispute_filter(text: str) -> bool:
    """``open`` (the default) or ``all``: True means open disputes only."""
    word = text.strip().casefold() or "open"
    if word not in ("open", "all"):
        raise InvalidInput("Use `/pay disputes open` (the default) or `/pay disputes all`.")
    return word == "open"


def days_left(dispute: Dispute, now: datetime, zone: tzinfo) -> int | None:
    """Days of the firm's calendar until the response is due, as the dispute notifications count
    them; None once nothing more can be sent."""
    if dispute.status is not DisputeStatus.NEEDS_RESPONSE:
        return None
    return (local_day(dispute.respond_by, zone) - local_day(now, zone)).days


class Listings:
    def __init__(self, gateway: Gateway, firm: FirmClock = UTC_CLOCK) -> None:
        self._gateway = gateway
        self._firm = firm

    async def disputes(
        self, open_only: bool, cursor: str | None = None, limit: int = PAGE_SIZE
    ) -> DisputeList:
        page = await self._gateway.list_disputes(open_only=open_only, limit=limit, cursor=cursor)
        now = self._firm.now()
        lines = tuple(
            DisputeLine(dispute, days_left(dispute, now, self._firm.zone)) for dispute in page.items
        )
        return DisputeList(
            open_only, Listing(lines, cursor, page.next_cursor, page.prev_cursor, self._firm.zone)
        )

    async def returns(
        self, cursor: str | None = None, limit: int = PAGE_SIZE
    ) -> Listing[ReturnLine]:
        page = await self._gateway.list_returns(limit=limit, cursor=cursor)
        lines = tuple(ReturnLine(item, describe_return(item.code)) for item in page.items)
        return Listing(lines, cursor, page.next_cursor, page.prev_cursor, self._firm.zone)

    async def withdrawals(
        self, cursor: str | None = None, expanded: str | None = None
    ) -> WithdrawalsView:
        """A page of past withdrawals; ``expanded`` (one on this page) also lists its payments."""
        balance = await self._gateway.balance()
        page = await self._gateway.list_withdrawals(limit=PAGE_SIZE, cursor=cursor)
        opened = next((w for w in page.items if w.id == expanded), None)
        payments: list[Transaction] = []
        for transaction_id in opened.transaction_ids[:PAYMENTS_SHOWN] if opened else ():
            found = await self._gateway.get_transaction(transaction_id)
            if found is not None:
                payments.append(found)
        total = len(opened.transaction_ids) if opened else 0
        next_amount = balance.available + balance.pending
        return WithdrawalsView(
            balance=balance,
            next_amount=next_amount if next_amount.minor > 0 else Money(0, next_amount.currency),
            withdrawals=Listing(
                page.items, cursor, page.next_cursor, page.prev_cursor, self._firm.zone
            ),
            expanded=opened.id if opened else None,
            payments=tuple(payments),
            more_payments=max(0, total - len(payments)),
        )
