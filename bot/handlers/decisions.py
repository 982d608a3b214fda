"""Approve, Reject and Withdraw for anything the four-eyes machine decides
(services/approvals.py): the Approve button, the Reject button that opens the reason modal, that
modal's submission, and the requester's Withdraw button."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import PortalAccount, Source
from bot.handlers import forms
from bot.ids import ActionId, BlockId, CallbackId

Info = TypeVar("Info")
Shown = TypeVar("Shown", covariant=True)


class Decider(Protocol[Shown]):
    async def approve(self, actor: PortalAccount, request_id: str, source: Source, /) -> Shown: ...

    async def decidable(
        self, actor: PortalAccount, request_id: str, source: Source, /
    ) -> Shown: ...

    async def reject(
        self, actor: PortalAccount, request_id: str, reason_text: str, source: Source, /
    ) -> Shown: ...

    async def withdraw(self, actor: PortalAccount, request_id: str, source: Source, /) -> Shown: ...


def register_decisions(
    app: AsyncApp,
    decider: Decider[Info],
    reject_modal: Callable[[Info], View],
    *,
    approve: ActionId,
    reject: ActionId,
    reason_submitted: CallbackId,
    withdraw: ActionId,
) -> None:
    @app.action(approve)
    async def approved(ack: AsyncAck, action: dict[str, Any], context: dict[str, Any]) -> None:
        # Acked first: a click carries no answer, and twenty concurrent approvals must not wait
        # on each other's transactions for theirs; a refusal goes out by the one error path.
        await ack()
        await decider.approve(context["actor"], forms.action_value(action), Source.BUTTON)

    @app.action(withdraw)
    async def withdrawn(ack: AsyncAck, action: dict[str, Any], context: dict[str, Any]) -> None:
        # As Approve: acked first; anyone but the requester is refused by the one error path.
        await ack()
        await decider.withdraw(context["actor"], forms.action_value(action), Source.BUTTON)

    @app.action(reject)
    async def open_reject(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        await ack()
        request = await decider.decidable(
            context["actor"], forms.action_value(action), Source.BUTTON
        )
        await client.views_open(trigger_id=body["trigger_id"], view=reject_modal(request))

    @app.view(reason_submitted)
    async def rejected(ack: AsyncAck, view: dict[str, Any], context: dict[str, Any]) -> None:
        await decider.reject(
            context["actor"],
            view.get("private_metadata") or "",
            forms.text(view, BlockId.REASON),
            Source.MODAL,
        )
        await ack()
