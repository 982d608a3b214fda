"""The daily settlement digest as plain data: a business day's figures per account (operating and
trust, never added together), its withdrawals and what is still open. Built by
services/digest.py, stored with its outbox row (so what is posted is what was counted), rendered
by blocks/digest.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.domain import Account, Money


@dataclass(frozen=True)
class Figure:
    """A count and the amount it adds up to, in minor units."""

    count: int = 0
    minor: int = 0

    def plus(self, minor: int) -> Figure:
        return Figure(self.count + 1, self.minor + minor)


@dataclass(frozen=True)
class WithdrawalLine:
    id: str
    amount: Money
    status: str


@dataclass(frozen=True)
class AccountDay:
    """One account's day. ``fees`` is None while the processor reports none to the bot."""

    account: Account
    sales: Figure = Figure()
    refunds: Figure = Figure()
    disputes: Figure = Figure()
    returns: Figure = Figure()
    fees: Figure | None = None
    withdrawals: tuple[WithdrawalLine, ...] = ()


@dataclass(frozen=True)
class OpenItem:
    """Something still to be done, with a link to its thread: an uncovered trust debit or an
    open bookkeeping checklist."""

    text: str
    link: str | None = None
    channel: str | None = None  # where its thread is: the worker asks Slack for the link
    ts: str | None = None


@dataclass(frozen=True)
class DailyDigest:
    """``day`` is the business day reported; ``through`` the last day the figures include (the
    weekend and holidays after it, up to the day the digest is posted)."""

    day: date
    through: date
    zone: str
    currency: str
    accounts: tuple[AccountDay, ...]
    unassigned_withdrawals: tuple[
        WithdrawalLine, ...
    ] = ()  # the processor does not say the account
    open_items: tuple[OpenItem, ...] = field(default=())

    def to_payload(self) -> dict[str, Any]:
        def figure(value: Figure | None) -> list[int] | None:
            return None if value is None else [value.count, value.minor]

        def withdrawals(lines: tuple[WithdrawalLine, ...]) -> list[list[Any]]:
            return [[w.id, w.amount.minor, w.amount.currency, w.status] for w in lines]

        return {
            "day": self.day.isoformat(),
            "through": self.through.isoformat(),
            "zone": self.zone,
            "currency": self.currency,
            "accounts": [
                {
                    "account": a.account.value,
                    "sales": figure(a.sales),
                    "refunds": figure(a.refunds),
                    "disputes": figure(a.disputes),
                    "returns": figure(a.returns),
                    "fees": figure(a.fees),
                    "withdrawals": withdrawals(a.withdrawals),
                }
                for a in self.accounts
            ],
            "unassigned_withdrawals": withdrawals(self.unassigned_withdrawals),
            "open_items": [[i.text, i.link, i.channel, i.ts] for i in self.open_items],
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DailyDigest:
        def figure(value: Any) -> Figure:
            return Figure(int(value[0]), int(value[1])) if value else Figure()

        def withdrawals(rows: Any) -> tuple[WithdrawalLine, ...]:
            return tuple(
                WithdrawalLine(str(r[0]), Money(int(r[1]), str(r[2])), str(r[3])) for r in rows
            )

        return cls(
            day=date.fromisoformat(payload["day"]),
            through=date.fromisoformat(payload["through"]),
            zone=str(payload["zone"]),
            currency=str(payload["currency"]),
            accounts=tuple(
                AccountDay(
                    account=Account(a["account"]),
                    sales=figure(a["sales"]),
                    refunds=figure(a["refunds"]),
                    disputes=figure(a["disputes"]),
                    returns=figure(a["returns"]),
                    fees=figure(a["fees"]) if a.get("fees") else None,
                    withdrawals=withdrawals(a.get("withdrawals") or []),
                )
                for a in payload["accounts"]
            ),
            unassigned_withdrawals=withdrawals(payload.get("unassigned_withdrawals") or []),
            open_items=tuple(OpenItem(*item) for item in payload.get("open_items") or []),
        )
