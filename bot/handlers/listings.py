"""`/pay disputes [open|all]`, `/pay returns`, `/pay withdrawals`, and their page buttons.

A button answers by replacing the list it is on (through the click's response_url); the page to
show comes from the button's value, which the list itself wrote.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.listings import disputes_blocks, returns_blocks, withdrawals_blocks
from bot.handlers import forms
from bot.handlers.commands import Answer, Command, Router
from bot.ids import ActionId, Subcommand
from bot.overview import ListState
from bot.services.container import Services
from bot.services.listings import parse_dispute_filter


def register(app: AsyncApp, services: Services, router: Router) -> None:
    listings = services.listings

    # Each list reads the processor (remote for Stripe and Payrix): answered in the ack within
    # the answer budget, else through the response_url, so a slow processor costs no error.
    async def disputes(cmd: Command) -> None:
        async def page() -> Answer:
            found = await listings.disputes(parse_dispute_filter(cmd.args))
            return disputes_blocks(found), "Disputes"

        await cmd.answer_soon(page(), "Looking up the disputes …")

    async def returns(cmd: Command) -> None:
        async def page() -> Answer:
            return returns_blocks(await listings.returns()), "Returned payments"

        await cmd.answer_soon(page(), "Looking up the returned payments …")

    async def withdrawals(cmd: Command) -> None:
        async def page() -> Answer:
            return withdrawals_blocks(await listings.withdrawals()), "Withdrawals"

        await cmd.answer_soon(page(), "Looking up the withdrawals …")

    router.add(Subcommand.DISPUTES, disputes)
    router.add(Subcommand.RETURNS, returns)
    router.add(Subcommand.WITHDRAWALS, withdrawals)

    async def disputes_page(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        state = ListState.decode(forms.action_value(action))
        found = await listings.disputes(state.open_only, state.cursor)
        await respond(blocks=disputes_blocks(found), text="Disputes", replace_original=True)

    async def returns_page(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        found = await listings.returns(ListState.decode(forms.action_value(action)).cursor)
        await respond(blocks=returns_blocks(found), text="Returned payments", replace_original=True)

    async def withdrawals_page(
        ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """Next / Previous, and a withdrawal's Payments button, which opens or closes it."""
        await ack()
        state = ListState.decode(forms.action_value(action))
        found = await listings.withdrawals(state.cursor, state.expanded)
        await respond(blocks=withdrawals_blocks(found), text="Withdrawals", replace_original=True)

    for action_id, listener in (
        (ActionId.DISPUTE_LIST_NEXT, disputes_page),
        (ActionId.DISPUTE_LIST_PREVIOUS, disputes_page),
        (ActionId.RETURNS_NEXT, returns_page),
        (ActionId.RETURNS_PREVIOUS, returns_page),
        (ActionId.WITHDRAWALS_NEXT, withdrawals_page),
        (ActionId.WITHDRAWALS_PREVIOUS, withdrawals_page),
        (ActionId.WITHDRAWAL_PAYMENTS, withdrawals_page),
    ):
        app.action(action_id)(listener)
