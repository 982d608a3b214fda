"""Looking up a transaction by its exact id, as the portal requires."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain import PortalAccount, Source, Transaction
from bot.errors import InvalidInput, NotFound, ProcessorError
from bot.pan import has_pan
from bot.processors.gateway import Gateway
from bot.roles import Action
from bot.services.audit import AuditLog, AuditRecord, Outcome
from bot.services.refund_rules import refund_refusal

_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,80}")


@dataclass(frozen=True)
class Lookup:
    transaction: Transaction
    refund_refusal: str | None  # None: a full refund is possible


def clean_id(text: str) -> str:
    """The id as typed, stripped of the backticks and spaces people paste along with it."""
    candidate = text.strip().strip("`'\"").strip()
    if has_pan(candidate):
        raise InvalidInput(
            "That looks like a card number: never type card numbers into Slack. "
            "Look payments up by their transaction id."
        )
    if not candidate:
        raise InvalidInput(
            "Give the exact transaction id, e.g. `/pay lookup txn_4f8a…` (the full id)."
        )
    if not _ID.fullmatch(candidate):
        raise InvalidInput(
            "That does not look like a transaction id: ids are letters, digits and _ - : . only."
        )
    return candidate


class Transactions:
    def __init__(self, gateway: Gateway, audit: AuditLog) -> None:
        self._gateway = gateway
        self._audit = audit

    async def lookup(self, actor: PortalAccount, text: str, source: Source) -> Lookup:
        """Exactly this id or a clear "not found": never a near match, never a search."""
        transaction_id = clean_id(text)
        try:
            txn = await self._gateway.get_transaction(transaction_id)
        except ProcessorError as exc:
            await self._audited(actor, transaction_id, source, Outcome.FAILED, exc.message)
            raise
        if txn is None:
            await self._audited(actor, transaction_id, source, Outcome.FAILED, "not found")
            raise NotFound(
                f"No transaction has exactly the id `{transaction_id}`. Lookups need the full id "
                "(partial ids are never matched): copy it from the portal or `/pay history`."
            )
        await self._audited(actor, transaction_id, source, Outcome.DONE, None)
        return Lookup(txn, refund_refusal(txn))

    async def _audited(
        self,
        actor: PortalAccount,
        transaction_id: str,
        source: Source,
        outcome: Outcome,
        reason: str | None,
    ) -> None:
        await self._audit.record(
            AuditRecord(
                action=Action.LOOKUP.value,
                outcome=outcome,
                source=source,
                actor=actor,
                target_type="transaction",
                target_id=transaction_id,
                reason=reason,
            )
        )
