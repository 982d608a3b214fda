"""The history search box over the sandbox tables: typed text as conditions an index answers."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, and_, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dml import LIKE_ESCAPE, like_escaped
from bot.domain import Money, PaymentKind
from bot.processors.sandbox.models import SandboxCustomer, SandboxTransaction
from bot.processors.sandbox.records import CURRENCY

MAX_NAME_MATCHES = 50

T = SandboxTransaction


_ID_START = re.compile(r"[a-z]{2,4}_[0-9a-z]*")
_AMOUNT = re.compile(r"\$?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?")


async def search_conditions(session: AsyncSession, text: str) -> list[ColumnElement[bool]] | None:
    """What a person typed in the history search box, as alternatives an index each answers.

    ``txn_4f`` is the start of an id; ``125.50`` an exact amount; four digits a card's or
    account's last four (or an amount); anything else a matter id (whole, any case) or part of
    a customer's name. None means no search; an empty list, a search nothing can match.
    """
    typed = text.strip()
    if not typed:
        return None
    folded = typed.casefold()
    if _ID_START.fullmatch(folded):
        if folded == "txn_":
            return [T.kind != PaymentKind.REFUND.value]
        if folded == "re_":
            return [T.kind == PaymentKind.REFUND.value]
        if len(folded.partition("_")[2]) == 1:  # one in 36 matches: walking in order finds a page
            return [T.id.like(f"{like_escaped(folded)}%", escape=LIKE_ESCAPE)]
        # Ids are [0-9a-z_], all below "~": every id with this start lies in [start, start~).
        return [and_(T.id >= folded, T.id < folded + "~")]
    conditions: list[ColumnElement[bool]] = [T.matter_key == folded]
    if _AMOUNT.fullmatch(typed):
        try:
            conditions.append(T.amount_minor == Money.parse(typed, CURRENCY).minor)
        except ValueError:
            pass
        if len(typed) == 4 and typed.isdigit():
            conditions.append(T.last4 == typed)
        return conditions
    # Part of a name: find the customers first (a small table), then seek each one's payments.
    pattern = f"%{like_escaped(folded)}%"
    keys = list(
        await session.scalars(
            select(SandboxCustomer.key)
            .where(SandboxCustomer.key.like(pattern, escape=LIKE_ESCAPE))
            .order_by(SandboxCustomer.key)
            .limit(MAX_NAME_MATCHES + 1)
        )
    )
    if len(keys) > MAX_NAME_MATCHES:  # so many customers match that a scan finds a page at once
        conditions.append(T.customer_key.like(pattern, escape=LIKE_ESCAPE))
    else:
        conditions.extend(T.customer_key == key for key in keys)
    return conditions


async def remember_customer(session: AsyncSession, name: str | None) -> None:
    """Keep the customer in the name index; call it after the unit of work's first write."""
    if not name:
        return
    key = name.casefold()
    if await session.get(SandboxCustomer, key) is not None:
        return
    try:
        async with session.begin_nested():
            await session.execute(insert(SandboxCustomer).values(key=key, name=name))
    except IntegrityError:
        pass  # a concurrent payment by the same customer added it
