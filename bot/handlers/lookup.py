"""`/pay lookup <exact id>`: answered in the acknowledgement itself, ephemeral."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.transactions import transaction_card
from bot.domain import Source
from bot.handlers.commands import Command, Router
from bot.ids import Subcommand
from bot.roles import Action
from bot.services.container import Services


def register(app: AsyncApp, services: Services, router: Router) -> None:
    async def lookup(cmd: Command) -> None:
        found = await services.transactions.lookup(cmd.actor, cmd.args, Source.COMMAND)
        blocks = transaction_card(
            found.transaction,
            can_refund=services.access.can(cmd.actor, Action.REQUEST_REFUND),
            refusal=found.refund_refusal,
        )
        await cmd.answer(blocks, f"Payment {found.transaction.id}")

    router.add(Subcommand.LOOKUP, lookup)
