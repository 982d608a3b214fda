"""`/pay lookup <exact id>`: answered in the acknowledgement itself when the processor answers
within the budget, else through the response_url; ephemeral. The card is the same wherever a
payment is opened (`/pay history`'s View button uses ``card`` too)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.models.blocks import Block

from bot.blocks.transactions import transaction_card
from bot.domain import PortalAccount, Source
from bot.handlers.commands import Command, Router
from bot.ids import Subcommand
from bot.roles import Action
from bot.services.container import Services


async def card(
    services: Services, actor: PortalAccount, text: str, source: Source
) -> tuple[list[Block], str]:
    """The lookup card of the payment with exactly this id, and its notification text."""
    found = await services.transactions.lookup(actor, text, source)
    blocks = transaction_card(
        found.transaction,
        can_refund=services.access.can(actor, Action.REQUEST_REFUND),
        refusal=found.refund_refusal,
        zone=services.settings.zone,
    )
    return blocks, f"Payment {found.transaction.id}"


def register(app: AsyncApp, services: Services, router: Router) -> None:
    async def lookup(cmd: Command) -> None:
        found = card(services, cmd.actor, cmd.args, Source.COMMAND)
        await cmd.answer_soon(found, "Looking up the payment …")

    router.add(Subcommand.LOOKUP, lookup)
