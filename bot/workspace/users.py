"""The fake's users.* methods: info, lookupByEmail and list."""

from __future__ import annotations

import base64
import time

from bot.workspace.params import required
from bot.workspace.records import (
    JSON,
    FakeUser,
    SlackError,
)
from bot.workspace.state import Workspace


class UsersApi(Workspace):
    """users.info, lookupByEmail, list."""

    def _users_info(self, p: JSON) -> JSON:
        user = self.users.get(required(p, "user"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": self._user_json(user)}

    def _users_lookup_by_email(self, p: JSON) -> JSON:
        email = required(p, "email").strip().lower()
        for user in self.users.values():
            if user.email is not None and user.email.lower() == email:
                return {"user": self._user_json(user)}
        raise SlackError("users_not_found")

    def _users_list(self, p: JSON) -> JSON:
        members = list(self.users.values())
        limit = int(p.get("limit") or 0) or len(members)
        start = 0
        if p.get("cursor"):
            try:
                start = int(base64.b64decode(str(p["cursor"])).decode().removeprefix("user:"))
            except ValueError as e:
                raise SlackError("invalid_cursor") from e
        page = members[start : start + limit]
        more = start + limit < len(members)
        cursor = base64.b64encode(f"user:{start + limit}".encode()).decode() if more else ""
        return {
            "members": [self._user_json(u) for u in page],
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": cursor},
        }

    def _user_json(self, user: FakeUser) -> JSON:
        profile: JSON = {
            "real_name": user.real_name,
            "display_name": user.name,
            "image_48": f"https://avatars.example.com/{user.id}_48.png",
        }
        if user.email is not None:
            profile["email"] = user.email
        if user.is_bot and user.id == self.bot_user_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": "America/New_York",
            "is_admin": False,
            "is_owner": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "profile": profile,
        }
