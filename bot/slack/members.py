"""Is a Slack member id a person in the workspace, still active? users.info, for the services
that link portal users to Slack users (bot/services/users.py) and for `paybot check`."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.identity import slack_error


class SlackMembers:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def problem(self, user_id: str) -> str | None:
        """What is wrong with linking this Slack user, in words; None when nothing is."""
        try:
            answer = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in ("user_not_found", "users_not_found"):
                return f"No Slack user has the id {user_id} in this workspace."
            if error is None:
                raise
            return f"Slack could not say who {user_id} is ({error})."
        user = answer.get("user") or {}
        if user.get("deleted"):
            return f"The Slack user {user_id} is deactivated."
        if user.get("is_bot") or user.get("is_app_user"):
            return f"{user_id} is a bot, not a person."
        return None
