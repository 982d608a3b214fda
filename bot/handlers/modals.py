"""Modals that need the processor: opened at once with a short loading state (a trigger_id
lives 3 s), then filled with views.update when the processor has answered.

The opened view is kept in the Bolt context, so an error while filling it is shown in that
modal by the app's one error path (bot/handlers/errors.py), not beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import message_modal

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
