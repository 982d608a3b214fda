"""The fake's chat.* methods and the response_url posts that act like them."""

from __future__ import annotations

import json
import uuid

from aiohttp import web

from bot.workspace.block_kit import checked_metadata, message_content
from bot.workspace.params import flag, required
from bot.workspace.records import (
    JSON,
    Message,
    ResponseTarget,
    SlackError,
)
from bot.workspace.server import Server

RESPONSE_URL_SECONDS = 30 * 60  # a response_url takes five posts within 30 minutes


class ChatApi(Server):
    """chat.postMessage, update, postEphemeral, delete, getPermalink; response_url."""

    response_url_max_uses = 5  # Slack accepts five posts to one response_url

    def response_url(
        self, channel: str | None = None, user: str | None = None, message_ts: str | None = None
    ) -> str:
        """A response_url on this server. Posts to it land in `channel` (in_channel) or
        ephemerally to `user`; with `message_ts`, replace/delete_original act on that message."""
        key = uuid.uuid4().hex
        self._response_targets[key] = ResponseTarget(
            channel, user, message_ts, issued=self._monotonic()
        )
        return f"{self._root()}/response/{key}"

    async def _serve_response(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        self.responses.append((str(request.url), body))
        target = self._response_targets.get(request.match_info["key"])
        if target is None:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        if self._monotonic() - target.issued > RESPONSE_URL_SECONDS:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        target.uses += 1
        if target.uses > self.response_url_max_uses:
            return web.json_response({"ok": False, "error": "used_url"}, status=404)
        try:
            self._respond(target, body)
        except SlackError as e:
            return web.json_response(e.body(), status=400)
        finally:
            self.changed()
        return web.json_response({"ok": True})

    def _respond(self, target: ResponseTarget, body: JSON) -> None:
        original = None
        if target.channel and target.message_ts:
            original = self._find(self._resolve(target.channel).id, target.message_ts, True)
        if flag(body.get("delete_original")):
            if original is not None:
                self._messages.remove(original)
            return
        text, blocks, attachments = message_content(body)
        if flag(body.get("replace_original")) and original is not None:
            original.text, original.blocks, original.edited = text, blocks, True
            original.attachments = attachments
            return
        if not target.channel:
            raise SlackError("channel_not_found", ["this response_url has no channel"])
        channel = self._resolve(target.channel)
        in_channel = body.get("response_type") == "in_channel"
        if not in_channel and not target.user:
            raise SlackError("user_not_found", ["this response_url has no user"])
        self._messages.append(
            Message(
                channel=channel.id,
                ts=self._next_ts(),
                text=text,
                blocks=blocks,
                thread_ts=body.get("thread_ts"),
                user=self.bot_user_id,
                ephemeral_to=None if in_channel else target.user,
                attachments=attachments,
            )
        )

    def _chat_post_message(self, p: JSON) -> JSON:
        channel = self._resolve(p.get("channel"))
        if not channel.is_member and not channel.is_im:
            raise SlackError("not_in_channel")
        text, blocks, attachments = message_content(p)
        self._check_hold("chat.postMessage", channel.id)
        self._take_post_token(channel.id)
        message = Message(
            channel=channel.id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            thread_ts=self._thread_root(channel.id, p.get("thread_ts")),
            user=self.bot_user_id,
            attachments=attachments,
            metadata=checked_metadata(p.get("metadata")),
        )
        self._messages.append(message)
        return {"channel": channel.id, "ts": message.ts, "message": self.message_json(message)}

    def _chat_update(self, p: JSON) -> JSON:
        channel = self._resolve(p.get("channel"))
        message = self._find(channel.id, required(p, "ts"), ephemeral=False)
        if message is None:
            raise SlackError("message_not_found")
        if message.user != self.bot_user_id:
            raise SlackError("cant_update_message")
        text, blocks, attachments = message_content(p)
        if "metadata" in p:
            message.metadata = checked_metadata(p.get("metadata"))
        if "text" in p:
            message.text = text
        if "blocks" in p:
            message.blocks = blocks
        if "attachments" in p:
            message.attachments = attachments
        message.edited = True
        return {
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": self.message_json(message),
        }

    def _chat_post_ephemeral(self, p: JSON) -> JSON:
        channel = self._resolve(p.get("channel"))
        user = required(p, "user")
        if user not in self.users:
            raise SlackError("user_not_found")
        text, blocks, attachments = message_content(p)
        message = Message(
            channel=channel.id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            thread_ts=self._thread_root(channel.id, p.get("thread_ts")),
            user=self.bot_user_id,
            ephemeral_to=user,
            attachments=attachments,
        )
        self._messages.append(message)
        return {"message_ts": message.ts}

    def _chat_delete(self, p: JSON) -> JSON:
        channel = self._resolve(p.get("channel"))
        message = self._find(channel.id, required(p, "ts"), ephemeral=False)
        if message is None:
            raise SlackError("message_not_found")
        if message.user != self.bot_user_id:
            raise SlackError("cant_delete_message")
        self._messages.remove(message)
        return {"channel": channel.id, "ts": message.ts}

    def _chat_get_permalink(self, p: JSON) -> JSON:
        channel = self._resolve(p.get("channel"))
        message = self._find(channel.id, required(p, "message_ts"), ephemeral=False)
        if message is None:
            raise SlackError("message_not_found")
        link = (
            f"https://{self.team_domain}.slack.com/archives/{channel.id}/"
            f"p{message.ts.replace('.', '')}"
        )
        if message.thread_ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}
