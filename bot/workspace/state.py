"""The fake workspace's state (users, channels, messages, views) and what tests read of it."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from bot.workspace.block_kit import message_content
from bot.workspace.params import brief
from bot.workspace.records import (
    JSON,
    Call,
    EarlyCall,
    FakeChannel,
    FakeFile,
    FakeUser,
    Fault,
    Limiter,
    Message,
    ResponseTarget,
    SlackError,
)

T = TypeVar("T")
FILE_MIMETYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "csv": "text/csv",
    "exe": "application/x-msdownload",
}

SLACKBOT = "USLACKBOT"  # who the Slack client's own notices come from
# chat.postMessage: "1 per second" per channel, "short bursts >1 allowed"; how short is not
# documented, so five.
POST_BURST = 5
# The scopes manifest.yml asks for (tests/unit/test_manifest.py keeps them in step).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "files:write",
    "files:read",
    "channels:history",
    "groups:history",
)


class Workspace:
    """One workspace with one installed bot: its users, channels, messages, views and files.

    Everything runs on the event loop that started it; handlers never await between reading
    and changing state, so concurrent calls see a consistent workspace without locks.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-paybot-test",  # noqa: S107 - a fake workspace's token
        *,
        app_token: str = "xapp-1-A0PAYBOT-1-paybot-test",  # noqa: S107 - Socket Mode's token
        team_id: str = "T0PAYBOT",
        team_name: str = "Paybot Test",
        team_domain: str = "paybot-test",
        bot_user_id: str = "U0PAYBOT",
        bot_id: str = "B0PAYBOT",
        app_id: str = "A0PAYBOT",
        enterprise_id: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.enterprise_id = enterprise_id  # an Enterprise Grid workspace's organization
        self.root_url: str | None = None
        # The bot token's scopes, sent as Slack does in every answer's x-oauth-scopes header.
        self.scopes: list[str] = list(BOT_SCOPES)
        self.calls: list[Call] = []
        self.users: dict[str, FakeUser] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.views: dict[str, JSON] = {}
        self.files: dict[str, FakeFile] = {}
        self.file_downloads: list[tuple[str, bool]] = []  # (file, with a token) per url_private GET
        self.responses: list[tuple[str, JSON]] = []
        self.expired_triggers: set[str] = set()
        self.tier_limits = True  # Slack's per-method tiers; off only for a test that floods
        self.rate_limited = 0
        self.early_calls: list[EarlyCall] = []  # 429s not honoured: see `_hold`
        self.revision = 0  # goes up on every change a screen could show (see `changed`)
        self._host = host
        self._port = port
        self._monotonic = monotonic
        self._runner: web.AppRunner | None = None
        self._messages: list[Message] = []
        self._last_ts_us = 0
        self._dms: dict[str, str] = {}
        self._home: dict[str, str] = {}
        self._stacks: dict[str, list[str]] = {}
        self._trigger_users: dict[str, str] = {}
        self._triggers: dict[str, float] = {}  # trigger_id -> when its request was sent
        self._used_triggers: set[str] = set()
        self._tier_calls: dict[str, deque[float]] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._limiter: Limiter | None = Limiter(1.0, None, POST_BURST)  # see rate_limit
        self._holds: dict[tuple[str, str], float] = {}
        self._response_targets: dict[str, ResponseTarget] = {}
        # Imported here: the Socket Mode module builds on the sender, which builds on this one.
        from bot.workspace.socket_mode import SocketModeHub

        self.socket_mode: SocketModeHub = SocketModeHub(app_id)
        # Each Web API method's handler by name, gathered by FakeSlack from its families.
        self._handlers: dict[str, Callable[[JSON], JSON]] = self._web_api()
        self.add_user(bot_user_id, "paybot", "Paybot", None, is_bot=True)
        self.add_channel("C0GENERAL", "general")

    def _web_api(self) -> dict[str, Callable[[JSON], JSON]]:
        """The Web API methods this workspace answers: FakeSlack lists its families' own."""
        return {}

    @property
    def base_url(self) -> str:
        return f"{self._root()}/api/"

    def _root(self) -> str:
        if self.root_url is None:
            raise RuntimeError("FakeSlack is not started: await fake.start() first")
        return self.root_url

    def add_user(
        self,
        id: str,
        name: str,
        real_name: str | None = None,
        email: str | None = None,
        *,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> FakeUser:
        user = FakeUser(id, name, real_name or name, email, is_bot=is_bot, deleted=deleted)
        self.users[id] = user
        self.changed()
        return user

    def add_channel(
        self, id: str, name: str, *, is_private: bool = False, is_member: bool = True
    ) -> FakeChannel:
        channel = FakeChannel(id, name, is_private=is_private, is_member=is_member)
        self.channels[id] = channel
        self.changed()
        return channel

    def dm(self, user_id: str) -> str:
        """The bot's DM channel with a user: stable, created on first use like Slack's."""
        if user_id not in self.users:
            raise SlackError("user_not_found", [f"no user {user_id} in the fake workspace"])
        if user_id not in self._dms:
            channel_id = f"D{user_id[1:]}"
            name = self.users[user_id].name
            self.channels[channel_id] = FakeChannel(channel_id, name, user=user_id)
            self._dms[user_id] = channel_id
            self.changed()
        return self._dms[user_id]

    def messages(
        self, channel: str, thread_ts: str | None = None, *, ephemeral: bool | None = None
    ) -> list[Message]:
        """Top-level messages of a channel, or a thread's replies (without its parent).

        `channel` may be a user id, meaning the bot's DM with them. `ephemeral` None keeps
        both kinds, True only ephemeral ones, False only what everyone sees.
        """
        channel_id = self._resolve(channel).id
        return [
            m
            for m in self._messages
            if m.channel == channel_id
            and m.thread_ts == thread_ts
            and (ephemeral is None or (m.ephemeral_to is not None) == ephemeral)
        ]

    def all_messages(self) -> list[Message]:
        return list(self._messages)

    def changed(self) -> None:
        """Note a change, so a screen polling `revision` knows to read the workspace again."""
        self.revision += 1

    def post_as_user(
        self, user_id: str, channel: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """A person's own message, typed in the Slack client (the bot subscribes to no message
        events, so nothing is sent to it)."""
        if user_id not in self.users:
            raise SlackError("user_not_found")
        if not text.strip():
            raise SlackError("no_text")
        channel_id = self._resolve(channel).id
        message = Message(
            channel=channel_id,
            ts=self._next_ts(),
            text=text,
            blocks=None,
            thread_ts=self._thread_root(channel_id, thread_ts),
            user=user_id,
        )
        self._messages.append(message)
        self.changed()
        return message

    def show_command_answer(
        self, command: str, channel: str, user_id: str, status: int, body: str
    ) -> Message | None:
        """Show the app's HTTP answer to a slash command as the Slack client does: a JSON body
        as a message (ephemeral unless response_type is in_channel), plain text as ephemeral
        text, an empty 200 as nothing, and any other status as Slack's own complaint."""
        channel_id = self._resolve(channel).id
        user, text, blocks, attachments = self.bot_user_id, body, None, None
        ephemeral_to: str | None = user_id
        if status != 200:
            user, text = SLACKBOT, f'{command} failed with the error "http_service_error"'
        elif not body.strip():
            return None
        else:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                try:
                    text, blocks, attachments = message_content(parsed)
                except SlackError as e:
                    user, blocks, attachments = SLACKBOT, None, None
                    text = f'{command} failed with the error "{e.error}"'
                if parsed.get("response_type") == "in_channel" and user != SLACKBOT:
                    ephemeral_to = None
        message = Message(
            channel=channel_id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            thread_ts=None,
            user=user,
            ephemeral_to=ephemeral_to,
            attachments=attachments,
        )
        self._messages.append(message)
        self.changed()
        return message

    def ephemerals(self, user_id: str) -> list[Message]:
        """Ephemeral messages shown to a user, in any channel."""
        return [m for m in self._messages if m.ephemeral_to == user_id]

    def message(self, channel: str, ts: str) -> Message:
        found = self._find(self._resolve(channel).id, ts, ephemeral=True)
        if found is None:
            raise SlackError("message_not_found", [f"no message {ts} in {channel}"])
        return found

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def message_json(self, message: Message) -> JSON:
        """A message as Slack returns it from the Web API and sends it in payloads."""
        out: JSON = {
            "type": "message",
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "team": self.team_id,
        }
        if message.user == self.bot_user_id:
            out.update(bot_id=self.bot_id, app_id=self.app_id)
        if message.blocks is not None:
            out["blocks"] = message.blocks
        if message.attachments is not None:
            out["attachments"] = message.attachments
        if message.thread_ts is not None:
            out["thread_ts"] = message.thread_ts
        else:
            replies = [m for m in self._messages if m.thread_ts == message.ts]
            if replies:
                out.update(thread_ts=message.ts, reply_count=len(replies))
        if message.edited:
            out["edited"] = {"user": message.user, "ts": message.ts}
        if message.files:
            out["files"] = [self._file_json(self.files[f]) for f in message.files]
        if message.metadata is not None:
            out["metadata"] = message.metadata
        return out

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - a polling deadline, not a cancellation scope
        *,
        what: str | None = None,
    ) -> T:
        """Poll until predicate() is truthy and return its value: the bot answers Slack
        first and posts afterwards, so a test must wait for what it expects."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{what or 'condition'} not met within {timeout}s; {self.describe()}"
                )
            await asyncio.sleep(0.01)

    def describe(self, last: int = 12) -> str:
        """A short account of recent traffic, for failure messages."""
        shown = [f"{c.method}({brief(c.params)}) -> {c.error or 'ok'}" for c in self.calls[-last:]]
        return (
            f"{len(self.calls)} calls, last: [{', '.join(shown)}]; "
            f"{len(self._messages)} messages, {len(self.responses)} response_url posts"
        )

    def _resolve(self, ref: object) -> FakeChannel:
        """A channel from an id, a user id (their DM, as chat.postMessage allows) or #name."""
        if not isinstance(ref, str) or not ref:
            raise SlackError("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users:
            return self.channels[self.dm(ref)]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        raise SlackError("channel_not_found", [f"no channel {ref}; add it with add_channel"])

    def _find(self, channel_id: str, ts: str, ephemeral: bool) -> Message | None:
        for message in self._messages:
            if message.channel == channel_id and message.ts == ts:
                if ephemeral or message.ephemeral_to is None:
                    return message
        return None

    def _thread_root(self, channel_id: str, thread_ts: object) -> str | None:
        """Replying to a reply lands in the parent's thread, as in Slack."""
        if not thread_ts:
            return None
        parent = self._find(channel_id, str(thread_ts), ephemeral=False)
        if parent is not None and parent.thread_ts is not None:
            return parent.thread_ts
        return str(thread_ts)

    def _next_ts(self) -> str:
        """Unique, increasing message timestamps, so ts identifies a message as in Slack."""
        now_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        self._last_ts_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    def _file_json(self, file: FakeFile) -> JSON:
        """A file object as Slack gives it (files.info, messages, file_input state)."""
        kind = file.filename.rsplit(".", 1)[-1].casefold() if "." in file.filename else "binary"
        url = f"{self._root()}/files-pri/{self.team_id}-{file.id}/{file.filename}"
        return {
            "id": file.id,
            "name": file.filename,
            "title": file.title or file.filename,
            "mimetype": FILE_MIMETYPES.get(kind, "application/octet-stream"),
            "filetype": kind,
            "size": len(file.content or b""),
            "user": file.user or self.bot_user_id,
            "url_private": url,
            "url_private_download": url.replace(f"/{file.filename}", f"/download/{file.filename}"),
            "permalink": f"https://{self.team_domain}.slack.com/files/{file.id}",
        }
