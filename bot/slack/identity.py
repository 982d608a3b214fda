"""Who the bot is in Slack (auth.test) and what its token may do, with every way that can go
wrong at start-up said in one line: a refused token, an address that is not Slack's Web API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError, StartError


@dataclass(frozen=True)
class Identity:
    answer: dict[str, Any]  # auth.test's answer, as Bolt's AuthorizeResult wants it
    scopes: frozenset[str] | None  # from the x-oauth-scopes header; None when Slack sent none


def slack_error(exc: SlackApiError) -> str | None:
    """Slack's error code (`invalid_auth`, `user_not_found`), or None when what answered was
    not Slack's Web API (an HTML page, a 404)."""
    data = getattr(exc.response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    return str(error) if error else None


def _status(exc: SlackApiError) -> object:
    response = exc.response
    return getattr(response, "status_code", None) or getattr(response, "status", "?")


async def identify(client: AsyncWebClient) -> Identity:
    url = client.base_url
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = slack_error(exc)
        if error is None:
            raise StartError(
                f"SLACK_API_URL {url} does not answer as Slack's Web API (HTTP {_status(exc)}): "
                "leave it unset to use Slack"
            ) from None
        raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({error})") from None
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise StartError(
            f"SLACK_API_URL {url} could not be reached ({exc or type(exc).__name__})"
        ) from None
    header = answer.headers.get("x-oauth-scopes") or answer.headers.get("X-OAuth-Scopes")
    scopes = (
        None if header is None else frozenset(s.strip() for s in header.split(",") if s.strip())
    )
    return Identity(dict(answer.data), scopes)  # type: ignore[arg-type]
