"""How a sentence reaches the person who caused it, whatever kind of request they sent.

Used for refusals (the gate, gate.py) and errors (the error handler) alike, so both look the
same to the user and neither can forget a kind of request.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import message_home, message_modal
from bot.blocks.text import escape

log = logging.getLogger("paybot.errors")


def json_response(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
    )


def input_blocks(view: dict[str, Any]) -> list[str]:
    """The block_ids of a view's input blocks: the only keys Slack takes in ``errors``."""
    return [
        str(block["block_id"])
        for block in view.get("blocks") or []
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id")
    ]


def first_input_block(view: dict[str, Any]) -> str | None:
    found = input_blocks(view)
    return found[0] if found else None


def field_errors(body: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """The field errors that name an input of the submitted view; Slack refuses the answer
    (and shows the person an error) when ``errors`` names a block the view does not have, as
    in a stale or forged view the bot did not open."""
    present = set(input_blocks(body.get("view") or {}))
    return {block_id: text[:1900] for block_id, text in errors.items() if block_id in present}


def immediate(body: dict[str, Any], text: str) -> BoltResponse | None:
    """The answer carried by the HTTP response itself, where the request kind allows one.

    A modal keeps its inputs: the message is shown as a field error on its first input.
    """
    safe = escape(text)
    if "command" in body:
        return json_response({"response_type": "ephemeral", "text": safe})
    if body.get("type") == "view_submission":
        view = body.get("view") or {}
        block_id = first_input_block(view)
        if block_id:
            return json_response({"response_action": "errors", "errors": {block_id: text[:1900]}})
        return json_response(
            {"response_action": "update", "view": message_modal("Paybot", safe).to_dict()}
        )
    return None


async def in_modal(view_id: str, title: str, text: str, client: AsyncWebClient) -> None:
    """Tell the person in the modal they are looking at (one opened while it loads)."""
    await client.views_update(view_id=view_id, view=message_modal(title, escape(text)))


_telling: set[asyncio.Task[None]] = set()


def after_answer(body: dict[str, Any], text: str, client: AsyncWebClient) -> None:
    """``later``, started now and finished after the HTTP answer has gone: a slow response_url
    or Web API call must not delay Slack's answer (the gate, a middleware, cannot run after it)."""

    async def tell() -> None:
        try:
            await later(body, text, client)
        except Exception:
            log.exception("could not tell the user")

    task = asyncio.ensure_future(tell())
    _telling.add(task)
    task.add_done_callback(_telling.discard)


async def later(body: dict[str, Any], text: str, client: AsyncWebClient) -> None:
    """Tell the person after the ack: ephemeral via response_url, App Home, or a DM."""
    safe = escape(text)
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    response_url = body.get("response_url") or next(
        (u.get("response_url") for u in body.get("response_urls") or []), None
    )
    if response_url:
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        webhook = AsyncWebhookClient(response_url, session=client.session)
        await webhook.send(text=safe, response_type="ephemeral", replace_original=False)
        return
    event = body.get("event") or {}
    if event.get("type") == "app_home_opened" and event.get("user"):
        await client.views_publish(user_id=event["user"], view=message_home(safe))
        return
    if user_id:
        await client.chat_postMessage(channel=user_id, text=safe)
