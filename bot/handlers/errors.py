"""The app's one error handler: domain errors become their message, anything else a reference id."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import FormErrors, PaybotError
from bot.handlers import gate, modals, replies
from bot.services.container import Services

log = logging.getLogger("paybot.errors")

ErrorHandler = Callable[..., Awaitable[BoltResponse | None]]


def handler(services: Services) -> ErrorHandler:
    async def handle(
        error: Exception,
        body: dict[str, Any],
        response: BoltResponse | None,
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> BoltResponse | None:
        """``response`` is None once the request was acknowledged: the answer goes out later.

        An event's delivery key is given back, so that Slack's retry of it does the work that
        failed (Slack retries an event whose answer was not 200 in time, X-Slack-Retry-Num)."""
        if isinstance(error, BoltUnhandledRequestError):
            return unhandled(body)
        key = gate.event_key(body)
        if key is not None:
            await services.deliveries.release(key)
        if isinstance(error, FormErrors) and response is not None:
            errors = replies.field_errors(body, error.errors)
            if errors:
                return replies.json_response({"response_action": "errors", "errors": errors})
        if isinstance(error, PaybotError):
            text = error.message
        elif slack_busy(error):
            # slack_sdk's retry handler has already waited out Slack's Retry-After as often as
            # it may: a reply Slack would not take now, not a bug of ours.
            log.warning("Slack rate-limited a reply past its retries")
            text = "Slack asked Paybot to slow down. Try again in a minute."
        else:
            reference = uuid.uuid4().hex[:8]
            log.exception("unhandled error (reference %s)", reference)
            text = (
                f"Something went wrong on our side (reference {reference}). "
                "Try again, or give an admin the reference."
            )
        if response is not None:
            answer = replies.immediate(body, text)
            if answer is not None:
                return answer
            response.status = 200
            response.body = ""
            replies.after_answer(body, text, client)  # the 200 goes first
            return None
        try:
            loading = modals.opened(context)
            if loading is not None:
                await replies.in_modal(loading.view_id, loading.title, text, client)
            else:
                await replies.later(body, text, client)
        except Exception:
            log.exception("could not tell the user about an error")
        return None

    return handle


def slack_busy(error: Exception) -> bool:
    """Slack answered 429 ``ratelimited`` to a call the listener made, after every retry."""
    return isinstance(error, SlackApiError) and error.response.get("error") == "ratelimited"


def unhandled(body: dict[str, Any]) -> BoltResponse:
    """Nothing listens for this request (a view_closed, a shortcut, an event the bot does not
    act on): Slack still gets its 200, and a person who asked gets a sentence."""
    log.info("no listener for a %s request", body.get("type") or "command")
    answer = replies.immediate(body, "Paybot does not offer that. Try `/pay help`.")
    return answer or BoltResponse(status=200, body="")
