"""The app's one error handler: domain errors become their message, anything else a reference id."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import FormErrors, PaybotError
from bot.handlers import replies

log = logging.getLogger("paybot.errors")


async def handle(
    error: Exception,
    body: dict[str, Any],
    response: BoltResponse | None,
    client: AsyncWebClient,
) -> BoltResponse | None:
    """``response`` is None once the request was acknowledged: then the answer goes out later."""
    if isinstance(error, FormErrors) and response is not None:
        return replies.json_response({"response_action": "errors", "errors": error.errors})
    if isinstance(error, PaybotError):
        text = error.message
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
    try:
        await replies.later(body, text, client)
    except Exception:
        log.exception("could not tell the user about an error")
    return None
