"""The fake's conversations.* methods: open, info, history and replies, a page at a time."""

from __future__ import annotations

import base64
import hashlib

from bot.workspace.params import flag, required
from bot.workspace.records import (
    JSON,
    FakeChannel,
    Message,
    SlackError,
)
from bot.workspace.state import Workspace


class ConversationsApi(Workspace):
    """conversations.open, info, history, replies."""

    def _conversations_open(self, p: JSON) -> JSON:
        if p.get("channel"):
            channel = self._resolve(p["channel"])
            existed = True
        else:
            users = [u.strip() for u in str(required(p, "users")).split(",") if u.strip()]
            for user in users:
                if user not in self.users:
                    raise SlackError("user_not_found")
            if len(users) == 1:
                existed = users[0] in self._dms
                channel = self.channels[self.dm(users[0])]
            else:
                members = tuple(sorted({*users, self.bot_user_id}))
                digest = hashlib.sha1(",".join(members).encode(), usedforsecurity=False)
                channel_id = "G" + digest.hexdigest()[:10].upper()
                existed = channel_id in self.channels
                name = "mpdm-" + "--".join(self.users[u].name for u in members)
                self.channels.setdefault(
                    channel_id, FakeChannel(channel_id, name, is_private=True, members=members)
                )
                channel = self.channels[channel_id]
        opened = self._channel_json(channel) if flag(p.get("return_im")) else {"id": channel.id}
        if existed:
            return {"no_op": True, "already_open": True, "channel": opened}
        return {"channel": opened}

    def _conversations_info(self, p: JSON) -> JSON:
        channel = self.channels.get(required(p, "channel"))
        if channel is None:
            raise SlackError("channel_not_found")
        return {"channel": self._channel_json(channel)}

    def _conversations_history(self, p: JSON) -> JSON:
        """Top-level messages, newest first, a page at a time; metadata only with
        include_all_metadata, as Slack."""
        channel = self._readable(p)
        oldest = float(p.get("oldest") or 0)
        found = [
            m
            for m in sorted(self._messages, key=lambda m: float(m.ts), reverse=True)
            if m.channel == channel.id
            and m.ephemeral_to is None
            and m.thread_ts is None
            and float(m.ts) >= oldest
        ]
        return self._page(p, found, "history", default=100, most=999)

    def _conversations_replies(self, p: JSON) -> JSON:
        """A thread, its parent first, a page at a time."""
        channel = self._readable(p)
        parent = self._find(channel.id, required(p, "ts"), ephemeral=False)
        if parent is None:
            raise SlackError("thread_not_found")
        root = parent.thread_ts or parent.ts
        thread = [
            m
            for m in self._messages
            if m.channel == channel.id
            and m.ephemeral_to is None
            and (m.ts == root or m.thread_ts == root)
        ]
        return self._page(p, thread, "replies", default=1000, most=1000)

    def _readable(self, p: JSON) -> FakeChannel:
        """A channel whose history the bot may read, by id: a public channel it is not in
        answers not_in_channel, a private one it is not in does not exist for it."""
        channel = self.channels.get(required(p, "channel"))
        if channel is None or (channel.is_private and not channel.is_member):
            raise SlackError("channel_not_found")
        if not channel.is_member and not channel.is_im:
            raise SlackError("not_in_channel")
        return channel

    def _page(self, p: JSON, found: list[Message], kind: str, *, default: int, most: int) -> JSON:
        """One page: `limit` (Slack's default and maximum), has_more, and a next_cursor that
        the next call passes as `cursor`."""
        try:
            limit = min(int(p.get("limit") or default), most)
        except ValueError as e:
            raise SlackError("invalid_limit") from e
        start = 0
        if p.get("cursor"):
            try:
                decoded = base64.b64decode(str(p["cursor"])).decode()
                if not decoded.startswith(f"{kind}:"):
                    raise ValueError(decoded)
                start = int(decoded.removeprefix(f"{kind}:"))
            except ValueError as e:
                raise SlackError("invalid_cursor") from e
        with_metadata = flag(p.get("include_all_metadata"))
        messages = []
        for m in found[start : start + limit]:
            shown = self.message_json(m)
            if not with_metadata:
                shown.pop("metadata", None)
            messages.append(shown)
        more = start + limit < len(found)
        cursor = base64.b64encode(f"{kind}:{start + limit}".encode()).decode() if more else ""
        return {
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _channel_json(self, channel: FakeChannel) -> JSON:
        if channel.is_im:
            return {"id": channel.id, "is_im": True, "user": channel.user, "is_open": True}
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": channel.is_mpim,
            "is_private": channel.is_private,
            "is_archived": False,
            "is_general": channel.name == "general",
            "is_member": channel.is_member,
        }
