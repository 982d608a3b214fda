"""E-mail to Slack user, through users.lookupByEmail, cached in the database.

Misses are cached too (for a day), so an unknown address does not cost a Web API call each time.
"""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.db.engine import SessionFactory
from bot.db.models import SlackDirectoryEntry

MISS_TTL = timedelta(days=1)
HIT_TTL = timedelta(days=30)


class SlackDirectory:
    def __init__(self, client: AsyncWebClient, sessions: SessionFactory, clock: Clock) -> None:
        self._client = client
        self._sessions = sessions
        self._clock = clock

    async def user_for_email(self, email: str) -> str | None:
        address = email.strip().lower()
        now = self._clock()
        async with self._sessions() as session:
            cached = await session.get(SlackDirectoryEntry, address)
        if cached is not None:
            ttl = HIT_TTL if cached.slack_user_id else MISS_TTL
            if now - cached.looked_up_at < ttl:
                return cached.slack_user_id
        try:
            answer = await self._client.users_lookupByEmail(email=address)
            user_id: str | None = answer["user"]["id"]
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                raise
            user_id = None
        async with self._sessions.begin() as session:
            await session.merge(
                SlackDirectoryEntry(email=address, slack_user_id=user_id, looked_up_at=now)
            )
        return user_id
