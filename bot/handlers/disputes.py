"""Answering chargebacks: Respond (a drafted response for approval) and Accept."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.acceptances import reject_acceptance_modal
from bot.blocks.common import message_modal
from bot.blocks.disputes import reject_response_modal, response_modal
from bot.domain import PortalAccount, Source
from bot.handlers import forms, modals
from bot.handlers.commands import Router
from bot.handlers.decisions import register_decisions
from bot.ids import ActionId, CallbackId
from bot.services.container import Services
from bot.services.evidence import checked_download
from bot.slack import evidence

RESPOND_TITLE = "Respond to dispute"


def register(app: AsyncApp, services: Services, router: Router) -> None:
    disputes = services.disputes
    budget = services.settings.paybot_answer_budget

    async def response_form(actor: PortalAccount, dispute_id: str, client: AsyncWebClient) -> View:
        """The Respond modal, offering the files shared in the dispute's thread."""
        dispute = await disputes.open_dispute(dispute_id)
        where = await disputes.thread(dispute_id)
        shared = await evidence.thread_files(
            client, where.channel if where else None, where.thread_ts if where else None
        )
        form = response_modal(
            dispute,
            services.settings.zone,
            ask_by=disputes.ask_by(dispute.respond_by),
            fields=disputes.fields,
            limits=disputes.document_limits,
            thread_files=shared,
            stripe_order=services.settings.payments_backend == "stripe",
        )
        return form

    app.action(ActionId.DISPUTE_RESPOND)(modals.opener(RESPOND_TITLE, response_form))

    @app.view(CallbackId.DISPUTE_RESPONSE)
    async def draft(
        ack: AsyncAck, body: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        view = body["view"]

        async def drafted() -> View:
            fields = {field.name: forms.text(view, field.name) for field in disputes.fields}
            offered = await evidence.picked_files(client, view)
            disputes.check_draft(fields, offered)  # before anything is downloaded
            limits = disputes.document_limits
            documents = [
                (o, checked_download(o, await evidence.download(client, o, limits.each), limits))
                for o in offered
            ]
            await disputes.draft(
                context["actor"],
                view.get("private_metadata") or "",
                fields,
                Source.MODAL,
                documents,
            )
            return message_modal(
                "Response drafted",
                "Your response is in the dispute's thread, waiting for a manager's approval.",
            )

        await modals.submit_soon(
            ack, body, context, client, drafted(), title=RESPOND_TITLE, budget=budget
        )

    @app.action(ActionId.DISPUTE_ACCEPT)
    async def accept(ack: AsyncAck, action: dict[str, Any], context: dict[str, Any]) -> None:
        await ack()  # first, as Approve (handlers/decisions.py)
        await disputes.request_accept(context["actor"], forms.action_value(action), Source.BUTTON)

    register_decisions(
        app,
        disputes,
        reject_response_modal,
        approve=ActionId.DISPUTE_RESPONSE_APPROVE,
        reject=ActionId.DISPUTE_RESPONSE_REJECT,
        reason_submitted=CallbackId.DISPUTE_RESPONSE_REJECT,
        withdraw=ActionId.DISPUTE_RESPONSE_WITHDRAW,
    )
    register_decisions(
        app,
        disputes.acceptances,
        reject_acceptance_modal,
        approve=ActionId.ACCEPTANCE_APPROVE,
        reject=ActionId.ACCEPTANCE_REJECT,
        reason_submitted=CallbackId.ACCEPTANCE_REJECT,
        withdraw=ActionId.ACCEPTANCE_WITHDRAW,
    )
