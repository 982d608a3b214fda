"""Modals that need the processor: opened at once with a short loading state (a trigger_id
lives 3 s), then filled with views.update when the processor has answered; submitted the same
way (`submit_soon`): Slack waits 3 s for a view_submission's answer too.

The opened view is kept in the Bolt context, so an error while filling it is shown in that
modal by the app's one error path (bot/handlers/errors.py), not beside it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import message_modal
from bot.domain import PortalAccount
from bot.handlers import forms
from bot.handlers.budget import in_time

_OPENED = "loading_modal"


@dataclass(frozen=True)
class Opened:
    view_id: str
    hash: str | None
    title: str


async def open_loading(
    client: AsyncWebClient,
    body: dict[str, Any],
    context: dict[str, Any],
    title: str,
    text: str = "Looking it up at the processor …",
) -> None:
    answer = await client.views_open(trigger_id=body["trigger_id"], view=message_modal(title, text))
    view = answer["view"]
    context[_OPENED] = Opened(str(view["id"]), view.get("hash"), title)


def opened(context: dict[str, Any]) -> Opened | None:
    found = context.get(_OPENED)
    return found if isinstance(found, Opened) else None


async def fill(client: AsyncWebClient, context: dict[str, Any], view: View) -> None:
    """Replace the loading state; the hash makes Slack refuse it if the modal moved on."""
    loading = opened(context)
    if loading is None:
        raise RuntimeError("fill() needs open_loading() first")
    await client.views_update(view_id=loading.view_id, hash=loading.hash, view=view)
    context.pop(_OPENED, None)


# (who clicked, the button's value, this request's client: a form may read Slack too)
Form = Callable[[PortalAccount, str, AsyncWebClient], Awaitable[View]]
Opener = Callable[..., Awaitable[None]]


def opener(title: str, form: Form) -> Opener:
    """The listener of a button that opens a modal needing the processor: acked, opened
    loading within the trigger's life, then filled with ``form`` of the button's value."""

    async def open_modal(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        await ack()
        await open_loading(client, body, context, title)
        value = forms.action_value(action)
        await fill(client, context, await form(context["actor"], value, client))

    return open_modal


async def submit_soon(
    ack: AsyncAck,
    body: dict[str, Any],
    context: dict[str, Any],
    client: AsyncWebClient,
    work: Awaitable[View],
    *,
    title: str,
    budget: float,
) -> None:
    """Answer a submission whose work reads the processor: done within ``budget``, its view (or
    its field errors, raised before the ack) is the ack's answer; otherwise the modal says
    "Submitting …" at once and is updated when the work is done. The services check what the
    person typed before they ask the processor, so field errors still come within the budget;
    a refusal after "Submitting …" is shown in the modal by the one error path."""

    async def submitting() -> None:
        await ack(response_action="update", view=message_modal(title, "Submitting …"))
        # The ack's update keeps the view's id; its new hash is not told, so none is checked.
        context[_OPENED] = Opened(str(body["view"]["id"]), None, title)

    view, on_time = await in_time(work, budget, submitting)
    if on_time:
        await ack(response_action="update", view=view)
        return
    await fill(client, context, view)
