"""Refunds: the modal, the request, and the manager's decision in the approvals channel."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import message_modal
from bot.blocks.refunds import refund_modal, reject_modal
from bot.domain import PortalAccount, Source
from bot.handlers import forms, modals
from bot.handlers.commands import Command, Router
from bot.handlers.decisions import register_decisions
from bot.ids import ActionId, BlockId, CallbackId, Subcommand
from bot.services.container import Services

REFUND_TITLE = "Refund payment"


def register(app: AsyncApp, services: Services, router: Router) -> None:
    refunds = services.refunds
    budget = services.settings.paybot_answer_budget

    async def refund_form(actor: PortalAccount, transaction_id: str, source: Source) -> View:
        txn = await refunds.refundable(actor, transaction_id, source)
        return refund_modal(txn, services.settings.zone)

    async def refund_command(cmd: Command) -> None:
        await cmd.ack()
        await modals.open_loading(cmd.client, cmd.body, cmd.context, REFUND_TITLE)
        await modals.fill(
            cmd.client, cmd.context, await refund_form(cmd.actor, cmd.args, Source.COMMAND)
        )

    router.add(Subcommand.REFUND, refund_command)
    app.action(ActionId.REFUND_OPEN)(
        modals.opener(
            REFUND_TITLE, lambda actor, value, _: refund_form(actor, value, Source.BUTTON)
        )
    )

    @app.view(CallbackId.REFUND_REQUEST)
    async def submit(
        ack: AsyncAck, body: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        view = body["view"]

        async def requested() -> View:
            request = await refunds.request(
                context["actor"],
                view.get("private_metadata") or "",
                forms.text(view, BlockId.REASON),
                Source.MODAL,
            )
            return message_modal(
                "Refund requested",
                f"Your refund of *{request.amount}* is waiting for a manager's approval in "
                f"<#{services.settings.paybot_approvals_channel}>. You will get a DM at each "
                "step.",
            )

        await modals.submit_soon(
            ack, body, context, client, requested(), title=REFUND_TITLE, budget=budget
        )

    register_decisions(
        app,
        refunds,
        reject_modal,
        approve=ActionId.REFUND_APPROVE,
        reject=ActionId.REFUND_REJECT,
        reason_submitted=CallbackId.REFUND_REJECT,
        withdraw=ActionId.REFUND_WITHDRAW,
    )
