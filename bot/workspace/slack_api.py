"""A stateful local stand-in for the Slack Web API, for end-to-end tests and the demo workspace.

The bot's `AsyncWebClient(base_url=fake.base_url)` talks to it. It answers the methods Paybot
uses with the shapes Slack returns, keeps what was posted, checks what Slack would refuse, and
can be told to fail or rate-limit, noting any call that comes back before its Retry-After.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

if TYPE_CHECKING:
    from bot.workspace.socket_mode import SocketModeHub

JSON = dict[str, Any]
T = TypeVar("T")

# slack_sdk sends these form-encoded as JSON strings for some methods.
_JSON_FIELDS = ("blocks", "view", "attachments", "files", "metadata")
SLACKBOT = "USLACKBOT"  # who the Slack client's own notices come from
_UPLOAD_LIMIT = 64 * 1024 * 1024
# chat.postMessage: "1 per second" per channel, "short bursts >1 allowed"; how short is not
# documented, so five.
POST_BURST = 5
TRIGGER_SECONDS = 3.0  # a trigger_id opens a view within 3 s of its request, once
RESPONSE_URL_SECONDS = 30 * 60  # a response_url takes five posts within 30 minutes

# Each method's rate-limit tier (https://docs.slack.dev/apis/web-api/rate-limits, and each
# method's page), and the calls a minute a tier allows: the documented minimum ("20+ per minute"),
# per method per workspace. Tier 1 tolerates "a small amount of burst behavior": three.
# chat.postMessage is Special (about one a second per channel): see `rate_limit`.
TIER_PER_MINUTE = {1: 3, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "apps.connections.open": 1,
    "users.list": 2,
    "files.upload": 2,
    "chat.update": 3,
    "chat.delete": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.open": 3,
    "conversations.info": 3,
    "users.lookupByEmail": 3,
    "auth.test": 4,
    "chat.postEphemeral": 4,
    "chat.getPermalink": 4,
    "users.info": 4,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
_METADATA_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_]+$")
# The scopes manifest.yml asks for (tests/unit/test_manifest.py keeps them in step).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "files:write",
    "channels:history",
    "groups:history",
)


@dataclass
class Call:
    """One Web API call as received. `error` is what the fake answered, None when ok."""

    method: str
    params: JSON
    at: float
    error: str | None = None


@dataclass(frozen=True)
class EarlyCall:
    """A call that came back before the Retry-After of a 429 it was given had elapsed."""

    method: str
    scope: str  # the channel the 429 was for, or "*" for every call of the method
    early_by: float  # seconds before the Retry-After ran out


@dataclass
class FakeUser:
    id: str
    name: str
    real_name: str
    email: str | None
    is_bot: bool = False
    deleted: bool = False


@dataclass
class FakeChannel:
    """A conversation. `user` is set for a DM (its id starts with D); `is_member` False
    makes chat.postMessage answer not_in_channel, as Slack does before the bot is invited."""

    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    user: str | None = None
    members: tuple[str, ...] = ()

    @property
    def is_im(self) -> bool:
        return self.id.startswith("D")

    @property
    def is_mpim(self) -> bool:
        return self.id.startswith("G") and len(self.members) > 1


@dataclass
class Message:
    """A message as the workspace holds it. Top-level messages have thread_ts None."""

    channel: str
    ts: str
    text: str
    blocks: list[JSON] | None
    thread_ts: str | None
    user: str
    ephemeral_to: str | None = None
    edited: bool = False
    attachments: list[JSON] | None = None
    files: list[str] = field(default_factory=list)
    metadata: JSON | None = None  # chat.postMessage's message metadata, returned on request


@dataclass
class FakeFile:
    """A file from files.getUploadURLExternal; `content` stays None until the bytes arrive."""

    id: str
    filename: str
    length: int
    title: str | None = None
    content: bytes | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


class SlackError(Exception):
    """An error answer, `{"ok": false, "error": ...}`, with Slack's extra fields if any."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error if not messages else f"{error}: {'; '.join(messages)}")
        self.error = error
        self.messages = messages or []

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error": self.error}
        if self.messages:
            body["errors"] = self.messages
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


class _RateLimited(Exception):
    def __init__(self, retry_after: int, scope: str = "*") -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after
        self.scope = scope  # the channel over its limit, or "*" for the workspace's


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int
    times: int


@dataclass
class _ResponseTarget:
    channel: str | None
    user: str | None
    message_ts: str | None
    issued: float = 0.0  # the fake's monotonic clock when the request carrying it was sent
    uses: int = 0


@dataclass
class _Limiter:
    per_channel_per_second: float | None
    per_workspace_per_minute: int | None
    burst: int
    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)
    recent: deque[float] = field(default_factory=deque)


class FakeSlack:
    """One workspace with one installed bot, served on 127.0.0.1 at a free port.

    Everything runs on the event loop that started it; handlers never await between reading
    and changing state, so concurrent calls see a consistent workspace without locks.
    """

    response_url_max_uses = 5  # Slack accepts five posts to one response_url

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
        self._faults: dict[str, list[_Fault]] = {}
        self._limiter: _Limiter | None = _Limiter(1.0, None, POST_BURST)  # see rate_limit
        self._holds: dict[tuple[str, str], float] = {}
        self._response_targets: dict[str, _ResponseTarget] = {}
        # Imported here: the Socket Mode module builds on the sender, which builds on this one.
        from bot.workspace.socket_mode import SocketModeHub

        self.socket_mode: SocketModeHub = SocketModeHub(app_id)
        self._handlers: dict[str, Callable[[JSON], JSON]] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.list": self._users_list,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.upload": self._files_upload_v1,
        }
        self.add_user(bot_user_id, "paybot", "Paybot", None, is_bot=True)
        self.add_channel("C0GENERAL", "general")

    # -- lifecycle ---------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The Web API, upload and response_url routes, for embedding in another aiohttp app
        (the demo server); set `root_url` to that server's root then."""
        return [
            web.route("*", "/api/{method}", self._serve_api),
            web.post("/upload/{file_id}", self._serve_upload),
            web.post("/response/{key}", self._serve_response),
            *self.socket_mode.routes(),
        ]

    def make_app(self) -> web.Application:
        """The aiohttp application serving `routes()` alone."""
        app = web.Application(client_max_size=_UPLOAD_LIMIT)
        app.add_routes(self.routes())
        return app

    async def start(self) -> str:
        """Serve on a free port and return the base_url for AsyncWebClient."""
        if self._runner is None:
            runner = web.AppRunner(self.make_app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, self._host, self._port).start()
            host, port = runner.addresses[0][:2]
            self._runner = runner
            self.root_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        await self.socket_mode.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"{self._root()}/api/"

    def _root(self) -> str:
        if self.root_url is None:
            raise RuntimeError("FakeSlack is not started: await fake.start() first")
        return self.root_url

    # -- workspace set-up and inspection -----------------------------------------------------

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
                    text, blocks, attachments = _content(parsed)
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

    def home_view(self, user_id: str) -> JSON | None:
        view_id = self._home.get(user_id)
        return self.views[view_id] if view_id else None

    def modal_stack(self, user_id: str) -> list[JSON]:
        """The modals open for a user, bottom first; known only for trigger_ids the fake
        minted with `new_trigger_id(user_id)`, as a real view carries no user."""
        return [self.views[v] for v in self._stacks.get(user_id, [])]

    def top_modal(self, user_id: str) -> JSON | None:
        stack = self._stacks.get(user_id)
        return self.views[stack[-1]] if stack else None

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

    # -- triggers, response_url, faults -----------------------------------------------------

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger_id in Slack's shape; remembering its user lets views.open build a stack."""
        trigger_id = (
            f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        )
        self._triggers[trigger_id] = self._monotonic()
        if user_id is not None:
            self._trigger_users[trigger_id] = user_id
        return trigger_id

    def response_url(
        self, channel: str | None = None, user: str | None = None, message_ts: str | None = None
    ) -> str:
        """A response_url on this server. Posts to it land in `channel` (in_channel) or
        ephemerally to `user`; with `message_ts`, replace/delete_original act on that message."""
        key = uuid.uuid4().hex
        self._response_targets[key] = _ResponseTarget(
            channel, user, message_ts, issued=self._monotonic()
        )
        return f"{self._root()}/response/{key}"

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls to `method` with an error. 429 carries Retry-After;
        status 200 gives a plain Slack error such as message_not_found."""
        self._faults.setdefault(method, []).append(_Fault(error, status, retry_after, times))

    def rate_limit(
        self,
        per_channel_per_second: float | None = 1.0,
        per_workspace_per_minute: int | None = None,
        *,
        burst: int = 1,
    ) -> None:
        """Limit chat.postMessage like Slack: a token bucket per channel (`burst` posts at
        once, refilled at the given rate) and a sliding minute for the workspace. On from the
        start at one a second per channel with bursts of POST_BURST, as Slack; passing None
        for both turns it off."""
        if per_channel_per_second is None and per_workspace_per_minute is None:
            self._limiter = None
        else:
            self._limiter = _Limiter(per_channel_per_second, per_workspace_per_minute, burst)

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
        shown = [f"{c.method}({_brief(c.params)}) -> {c.error or 'ok'}" for c in self.calls[-last:]]
        return (
            f"{len(self.calls)} calls, last: [{', '.join(shown)}]; "
            f"{len(self._messages)} messages, {len(self.responses)} response_url posts"
        )

    # -- HTTP -------------------------------------------------------------------------------

    async def _serve_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, {}, time.time())
        self.calls.append(call)
        status, headers = 200, {}
        try:
            params, token = await _read_params(request)
            call.params = params
            handler = self._handlers.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            self._authenticate(request, token, method)
            self._check_hold(method, "*")
            self._take_tier_call(method)
            fault = self._take_fault(method)
            if fault is not None:
                status = fault.status
                if status == 429:
                    self.rate_limited += 1
                    headers["Retry-After"] = str(fault.retry_after)
                    self._hold(method, "*", fault.retry_after)
                body: JSON = {"ok": False, "error": fault.error}
            else:
                body = {"ok": True, **handler(params)}
        except SlackError as e:
            body = e.body()
        except _RateLimited as e:
            self.rate_limited += 1
            status, headers = 429, {"Retry-After": str(e.retry_after)}
            self._hold(method, e.scope, e.retry_after)
            body = {"ok": False, "error": "ratelimited"}
        except Exception as e:
            call.error = f"fake_slack_crashed: {e!r}"  # a bug here, not a Slack answer
            raise
        call.error = body.get("error")
        self.changed()
        headers["x-oauth-scopes"] = ",".join(self.scopes)
        return web.json_response(body, status=status, headers=headers)

    def _hold(self, method: str, scope: str, retry_after: int) -> None:
        """Remember until when a 429 asked this method (in `scope`) to wait."""
        self._holds[(method, scope)] = self._monotonic() + retry_after

    def _check_hold(self, method: str, scope: str) -> None:
        """Note a call that arrives before the Retry-After it was given ran out."""
        until = self._holds.get((method, scope))
        if until is not None and until > self._monotonic():
            self.early_calls.append(EarlyCall(method, scope, until - self._monotonic()))

    def _authenticate(self, request: web.Request, token: str | None, method: str) -> None:
        """The bot token for every method but apps.connections.open, which takes the app-level
        token alone; the wrong kind of good token is not_allowed_token_type, as in Slack."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip()
        if not token:
            raise SlackError("not_authed")
        wanted, other = self.bot_token, self.app_token
        if method == "apps.connections.open":
            wanted, other = other, wanted
        if secrets.compare_digest(token, wanted):
            return
        if secrets.compare_digest(token, other):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    async def _serve_upload(self, request: web.Request) -> web.Response:
        """The upload_url: Slack takes the raw bytes (or one multipart file) without a token."""
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            parts = [v for v in form.values() if isinstance(v, web.FileField)]
            content = parts[0].file.read() if parts else b""
        else:
            content = await request.read()
        file.content = content
        self.changed()
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

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

    def _respond(self, target: _ResponseTarget, body: JSON) -> None:
        original = None
        if target.channel and target.message_ts:
            original = self._find(self._resolve(target.channel).id, target.message_ts, True)
        if _flag(body.get("delete_original")):
            if original is not None:
                self._messages.remove(original)
            return
        text, blocks, attachments = _content(body)
        if _flag(body.get("replace_original")) and original is not None:
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

    # -- Web API methods --------------------------------------------------------------------

    def _apps_connections_open(self, p: JSON) -> JSON:
        return {"url": self.socket_mode.new_url(self._root())}

    def _auth_test(self, p: JSON) -> JSON:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, p: JSON) -> JSON:
        channel = self._resolve(p.get("channel"))
        if not channel.is_member and not channel.is_im:
            raise SlackError("not_in_channel")
        text, blocks, attachments = _content(p)
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
            metadata=_checked_metadata(p.get("metadata")),
        )
        self._messages.append(message)
        return {"channel": channel.id, "ts": message.ts, "message": self.message_json(message)}

    def _chat_update(self, p: JSON) -> JSON:
        channel = self._resolve(p.get("channel"))
        message = self._find(channel.id, _required(p, "ts"), ephemeral=False)
        if message is None:
            raise SlackError("message_not_found")
        if message.user != self.bot_user_id:
            raise SlackError("cant_update_message")
        text, blocks, attachments = _content(p)
        if "metadata" in p:
            message.metadata = _checked_metadata(p.get("metadata"))
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
        user = _required(p, "user")
        if user not in self.users:
            raise SlackError("user_not_found")
        text, blocks, attachments = _content(p)
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
        message = self._find(channel.id, _required(p, "ts"), ephemeral=False)
        if message is None:
            raise SlackError("message_not_found")
        if message.user != self.bot_user_id:
            raise SlackError("cant_delete_message")
        self._messages.remove(message)
        return {"channel": channel.id, "ts": message.ts}

    def _chat_get_permalink(self, p: JSON) -> JSON:
        channel = self._resolve(p.get("channel"))
        message = self._find(channel.id, _required(p, "message_ts"), ephemeral=False)
        if message is None:
            raise SlackError("message_not_found")
        link = (
            f"https://{self.team_domain}.slack.com/archives/{channel.id}/"
            f"p{message.ts.replace('.', '')}"
        )
        if message.thread_ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    def _views_open(self, p: JSON) -> JSON:
        user = self._use_trigger(p)
        view = self._checked_view(p.get("view"), home=False, new=True)
        stored = self._store_view(view, view_id=None, previous=None)
        if user is not None:
            self._stacks[user] = [stored["id"]]
        return {"view": stored}

    def _views_push(self, p: JSON) -> JSON:
        user = self._use_trigger(p)
        view = self._checked_view(p.get("view"), home=False, new=True)
        stack = self._stacks.get(user, []) if user is not None else []
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        previous = self.views[stack[-1]] if stack else None
        stored = self._store_view(view, view_id=None, previous=previous)
        if user is not None:
            self._stacks[user] = [*stack, stored["id"]]
        return {"view": stored}

    def _views_update(self, p: JSON) -> JSON:
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next(
                (k for k, v in self.views.items() if v.get("external_id") == p["external_id"]),
                None,
            )
            if view_id is None:
                raise SlackError("not_found")
        if not view_id:
            raise SlackError("invalid_arguments", ["view_id or external_id is required"])
        current = self.views.get(view_id)
        if current is None:
            raise SlackError("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._checked_view(p.get("view"), home=current["type"] == "home")
        return {"view": self._store_view(view, view_id=view_id, previous=None)}

    def _views_publish(self, p: JSON) -> JSON:
        user_id = _required(p, "user_id")
        if user_id not in self.users:
            raise SlackError("user_not_found")
        view = self._checked_view(p.get("view"), home=True)
        view_id = self._home.get(user_id)
        if view_id and p.get("hash") and p["hash"] != self.views[view_id]["hash"]:
            raise SlackError("hash_conflict")
        stored = self._store_view(view, view_id=view_id, previous=None)
        self._home[user_id] = stored["id"]
        return {"view": stored}

    def _users_info(self, p: JSON) -> JSON:
        user = self.users.get(_required(p, "user"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": self._user_json(user)}

    def _users_lookup_by_email(self, p: JSON) -> JSON:
        email = _required(p, "email").strip().lower()
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

    def _conversations_open(self, p: JSON) -> JSON:
        if p.get("channel"):
            channel = self._resolve(p["channel"])
            existed = True
        else:
            users = [u.strip() for u in str(_required(p, "users")).split(",") if u.strip()]
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
        opened = self._channel_json(channel) if _flag(p.get("return_im")) else {"id": channel.id}
        if existed:
            return {"no_op": True, "already_open": True, "channel": opened}
        return {"channel": opened}

    def _conversations_info(self, p: JSON) -> JSON:
        channel = self.channels.get(_required(p, "channel"))
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
        parent = self._find(channel.id, _required(p, "ts"), ephemeral=False)
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
        channel = self.channels.get(_required(p, "channel"))
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
        with_metadata = _flag(p.get("include_all_metadata"))
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

    def _files_get_upload_url(self, p: JSON) -> JSON:
        filename = _required(p, "filename")
        try:
            length = int(_required(p, "length"))
        except ValueError as e:
            raise SlackError("invalid_arguments", ["length must be an integer"]) from e
        file_id = "F" + secrets.token_hex(5).upper()
        self.files[file_id] = FakeFile(file_id, filename, length)
        return {"upload_url": f"{self._root()}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, p: JSON) -> JSON:
        entries = p.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments", ["files must be a JSON array of {id, title}"])
        files: list[FakeFile] = []
        for entry in entries:
            file = self.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if file is None or file.content is None:
                raise SlackError("file_not_found", [f"{entry} was not uploaded to its upload_url"])
            file.title = entry.get("title") or file.filename
            files.append(file)
        channel_ref = p.get("channel_id") or str(p.get("channels") or "").split(",")[0]
        channel = self._resolve(channel_ref) if channel_ref else None
        thread_ts = self._thread_root(channel.id, p.get("thread_ts")) if channel else None
        for file in files:
            file.channel_id = channel.id if channel else None
            file.thread_ts = thread_ts
            file.initial_comment = p.get("initial_comment")
            file.completed = True
        if channel is not None:
            self._messages.append(
                Message(
                    channel=channel.id,
                    ts=self._next_ts(),
                    text=str(p.get("initial_comment") or ""),
                    blocks=None,
                    thread_ts=thread_ts,
                    user=self.bot_user_id,
                    files=[f.id for f in files],
                )
            )
        return {"files": [self._file_json(f) for f in files]}

    def _files_upload_v1(self, p: JSON) -> JSON:
        """files.upload is retired; a bot still calling it would fail in Slack too."""
        raise SlackError("method_deprecated", ["use files_upload_v2"])

    # -- helpers ----------------------------------------------------------------------------

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

    def _take_tier_call(self, method: str) -> None:
        """A sliding minute per method: past its tier's calls a minute, 429 with Retry-After."""
        tier = METHOD_TIERS.get(method)
        if tier is None or not self.tier_limits:
            return
        now = self._monotonic()
        recent = self._tier_calls.setdefault(method, deque())
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= TIER_PER_MINUTE[tier]:
            raise _RateLimited(max(1, math.ceil(60 - (now - recent[0]))))
        recent.append(now)

    def _take_post_token(self, channel_id: str) -> None:
        limiter = self._limiter
        if limiter is None:
            return
        now = self._monotonic()
        if limiter.per_workspace_per_minute is not None:
            while limiter.recent and now - limiter.recent[0] >= 60:
                limiter.recent.popleft()
            if len(limiter.recent) >= limiter.per_workspace_per_minute:
                raise _RateLimited(max(1, math.ceil(60 - (now - limiter.recent[0]))))
        rate = limiter.per_channel_per_second
        if rate is not None:
            tokens, then = limiter.tokens.get(channel_id, (float(limiter.burst), now))
            tokens = min(float(limiter.burst), tokens + (now - then) * rate)
            if tokens < 1:
                limiter.tokens[channel_id] = (tokens, now)
                raise _RateLimited(max(1, math.ceil((1 - tokens) / rate)), channel_id)
            limiter.tokens[channel_id] = (tokens - 1, now)
        if limiter.per_workspace_per_minute is not None:
            limiter.recent.append(now)

    def _use_trigger(self, p: JSON) -> str | None:
        """A trigger_id opens one view, within 3 s of the request that carried it; one the
        fake never sent is invalid_trigger_id (views.open, views.push)."""
        trigger_id = _required(p, "trigger_id")
        issued = self._triggers.get(trigger_id)
        if issued is None:
            raise SlackError(
                "exchanged_trigger_id"
                if trigger_id in self._used_triggers
                else "invalid_trigger_id"
            )
        if trigger_id in self.expired_triggers or self._monotonic() - issued > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        del self._triggers[trigger_id]
        self._used_triggers.add(trigger_id)
        return self._trigger_users.get(trigger_id)

    def _checked_view(self, view: object, *, home: bool, new: bool = False) -> JSON:
        problems = view_problems(view, home=home)
        if problems or not isinstance(view, dict):
            raise SlackError("invalid_arguments", problems)
        external_id = view.get("external_id")
        if (
            new
            and external_id
            and any(v["external_id"] == external_id for v in self.views.values())
        ):
            raise SlackError("duplicate_external_id")
        return view

    def _store_view(self, view: JSON, *, view_id: str | None, previous: JSON | None) -> JSON:
        """Keep a view as Slack returns it: the given fields plus id, hash and bookkeeping.
        An update keeps the id, external_id and place in the stack, and changes the hash."""
        current = self.views.get(view_id) if view_id else None
        new_id = view_id or "V" + secrets.token_hex(5).upper()
        stored: JSON = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": current["external_id"] if current else "",
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            "id": new_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": current["root_view_id"] if current else new_id,
            "previous_view_id": current["previous_view_id"] if current else None,
        }
        if previous is not None:
            stored["root_view_id"] = previous["root_view_id"]
            stored["previous_view_id"] = previous["id"]
        self.views[new_id] = stored
        return stored

    def close_view(self, user_id: str, view_id: str) -> None:
        """The user closed a modal (or Slack closed it after a submission): it and any view
        pushed above it leave the stack."""
        stack = self._stacks.get(user_id, [])
        if view_id in stack:
            self._stacks[user_id] = stack[: stack.index(view_id)]
        self.changed()

    def after_submission(self, user_id: str, view_id: str, response: JSON | None) -> None:
        """Apply the bot's answer to a view_submission as Slack would: close, keep open with
        errors, update, push, or clear. Raises SlackError where Slack would show the user an
        error instead (an invalid view, errors keyed by something other than an input block)."""
        self.changed()
        action = (response or {}).get("response_action")
        if action is None:
            self.close_view(user_id, view_id)
        elif action == "errors":
            errors = (response or {}).get("errors")
            inputs = {
                b.get("block_id")
                for b in self.views[view_id].get("blocks", [])
                if b.get("type") == "input"
            }
            if not isinstance(errors, dict) or not errors or not set(errors) <= inputs:
                raise SlackError(
                    "invalid_arguments",
                    [f"errors must be keyed by input block_ids {sorted(inputs)}, got {errors}"],
                )
        elif action == "update":
            view = self._checked_view((response or {}).get("view"), home=False)
            self._store_view(view, view_id=view_id, previous=None)
        elif action == "push":
            view = self._checked_view((response or {}).get("view"), home=False, new=True)
            stack = self._stacks.get(user_id, [])
            if len(stack) >= 3:
                raise SlackError("push_limit_reached")
            stored = self._store_view(view, view_id=None, previous=self.views[view_id])
            self._stacks[user_id] = [*stack, stored["id"]]
        elif action == "clear":
            self._stacks.pop(user_id, None)
        else:
            raise SlackError("invalid_arguments", [f"unknown response_action {action!r}"])

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

    def _file_json(self, file: FakeFile) -> JSON:
        return {
            "id": file.id,
            "name": file.filename,
            "title": file.title or file.filename,
            "size": len(file.content or b""),
            "user": self.bot_user_id,
            "url_private": f"{self._root()}/files/{file.id}/{file.filename}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{file.id}",
        }


# -- request parsing and Slack's validation, shared by methods ------------------------------


async def _read_params(request: web.Request) -> tuple[JSON, str | None]:
    """Merge query, form and JSON body as Slack does; the token never enters the record."""
    params: JSON = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.text())
            except ValueError as e:
                raise SlackError("invalid_json") from e
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except ValueError as e:
                raise SlackError(f"invalid_{key}_format") from e
    token = params.pop("token", None)
    return params, token if isinstance(token, str) else None


def _flag(value: object) -> bool:
    """Booleans arrive as JSON true, or as "true"/"1" in forms (slack_sdk turns True into "1")."""
    return value is True or value in ("true", "1", 1)


def _required(p: JSON, name: str) -> str:
    value = p.get(name)
    if value is None or value == "":
        raise SlackError("invalid_arguments", [f"missing required field: {name}"])
    return str(value)


def _content(p: JSON) -> tuple[str, list[JSON] | None, list[JSON] | None]:
    """text, blocks and attachments of a message, refused where Slack refuses them."""
    text = p.get("text")
    text = "" if text is None else str(text)
    blocks = p.get("blocks")
    attachments = p.get("attachments")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    if attachments is not None and not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if len(text) > 40000:
        raise SlackError("msg_too_long")
    problems = block_problems(blocks or [], max_blocks=50)
    if problems:
        raise SlackError("invalid_blocks", problems)
    return text, blocks, attachments


def _checked_metadata(metadata: object) -> JSON | None:
    """Message metadata as Slack takes it, else its error. The rule followed is the shape Slack
    documents (docs.slack.dev/messaging/message-metadata, and @slack/types' MessageMetadata):
    `event_type` a human-readable alphanumeric name (letters, digits, `_`), and `event_payload`
    an object whose values are strings, numbers, booleans, objects of those, or arrays of such
    objects; not null, and not an array of plain strings."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or set(metadata) - {"event_type", "event_payload"}:
        raise SlackError(
            "invalid_metadata_format", ["metadata must be {event_type, event_payload}"]
        )
    event_type, payload = metadata.get("event_type"), metadata.get("event_payload")
    if not isinstance(event_type, str) or not _METADATA_EVENT_TYPE.match(event_type):
        raise SlackError(
            "invalid_metadata_format", [f"event_type {event_type!r} is not alphanumeric"]
        )
    if not isinstance(payload, dict):
        raise SlackError("invalid_metadata_format", ["event_payload must be an object"])
    problems = [
        f"event_payload.{key} is {type(value).__name__}, not a string, number, boolean, "
        "object or array of objects"
        for key, value in payload.items()
        if not _metadata_value(value)
    ]
    if problems:
        raise SlackError("invalid_metadata_schema", problems)
    return metadata


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _metadata_value(value: object) -> bool:
    def flat(obj: object) -> bool:
        return isinstance(obj, dict) and all(_scalar(v) for v in obj.values())

    if isinstance(value, list):
        return all(flat(item) for item in value)
    return _scalar(value) or flat(value)


def _brief(params: JSON) -> str:
    keys = ("channel", "user", "user_id", "ts", "view_id", "email", "text")
    shown = [f"{k}={str(params[k])[:30]!r}" for k in keys if k in params]
    return ", ".join(shown)


def _text_problems(
    obj: object, where: str, limit: int, *, plain_only: bool = False, required: bool = True
) -> list[str]:
    if obj is None:
        return [f"{where} is required"] if required else []
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"{where} must be a text object of type {' or '.join(allowed)}"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}.text must be a non-empty string"]
    if len(text) > limit:
        return [f"{where}.text is {len(text)} characters, more than {limit}"]
    return []


def _option_problems(options: object, where: str, most: int) -> list[str]:
    if not isinstance(options, list) or not options or len(options) > most:
        return [f"{where} must hold 1 to {most} options"]
    problems: list[str] = []
    for i, option in enumerate(options):
        problems += _text_problems(
            option.get("text") if isinstance(option, dict) else None, f"{where}[{i}].text", 75
        )
        value = option.get("value") if isinstance(option, dict) else None
        if isinstance(value, str) and len(value) > 150:
            problems.append(f"{where}[{i}].value is longer than 150 characters")
    return problems


def _element_problems(element: object, where: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"{where} must be an element with a type"]
    problems: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
        problems.append(f"{where}.action_id must be a string of at most 255 characters")
    kind = element["type"]
    if kind == "button":
        problems += _text_problems(element.get("text"), f"{where}.text", 75, plain_only=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            problems.append(f"{where}.value must be a string of at most 2000 characters")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}.style must be primary or danger")
    elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes"):
        if "option_groups" not in element:
            most = 10 if kind in ("radio_buttons", "checkboxes") else 100
            problems += _option_problems(element.get("options"), f"{where}.options", most)
    elif kind == "overflow":
        options = element.get("options")
        if not isinstance(options, list) or len(options) < 2:
            problems.append(f"{where}.options must hold 2 to 5 options")
        else:
            problems += _option_problems(options, f"{where}.options", 5)
    return problems


def block_problems(blocks: list[Any], *, max_blocks: int) -> list[str]:
    """What Slack's invalid_blocks would complain about, for the limits that bite in practice
    (lengths, counts, duplicate ids); not a full Block Kit validator."""
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, more than {max_blocks}")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"{where} must be a block with a type")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > 255:
                problems.append(f"{where}.block_id must be 1 to 255 characters")
            elif block_id in block_ids:
                problems.append(f"{where}.block_id {block_id!r} is used twice")
            else:
                block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                problems.append(f"{where} needs text or fields")
            problems += _text_problems(block.get("text"), f"{where}.text", 3000, required=False)
            fields = block.get("fields") or []
            if len(fields) > 10:
                problems.append(f"{where}.fields holds {len(fields)}, more than 10")
            for j, item in enumerate(fields):
                problems += _text_problems(item, f"{where}.fields[{j}]", 2000)
            if "accessory" in block:
                problems += _element_problems(block["accessory"], f"{where}.accessory")
        elif kind == "header":
            problems += _text_problems(block.get("text"), f"{where}.text", 150, plain_only=True)
        elif kind in ("actions", "context"):
            most = 25 if kind == "actions" else 10
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > most:
                problems.append(f"{where}.elements must hold 1 to {most} elements")
                continue
            action_ids: set[str] = set()
            for j, element in enumerate(elements):
                if kind == "context":
                    continue
                problems += _element_problems(element, f"{where}.elements[{j}]")
                action_id = element.get("action_id") if isinstance(element, dict) else None
                if isinstance(action_id, str):
                    if action_id in action_ids:
                        problems.append(f"{where}: action_id {action_id!r} is used twice")
                    action_ids.add(action_id)
        elif kind == "input":
            problems += _text_problems(block.get("label"), f"{where}.label", 2000, plain_only=True)
            problems += _element_problems(block.get("element"), f"{where}.element")
            problems += _text_problems(
                block.get("hint"), f"{where}.hint", 2000, plain_only=True, required=False
            )
        elif kind not in ("divider", "image", "rich_text", "file", "video", "markdown"):
            problems.append(f"{where}.type {kind!r} is not a Block Kit block")
    return problems


def view_problems(view: object, *, home: bool) -> list[str]:
    """What views.open/update/push/publish would refuse as invalid_arguments."""
    if not isinstance(view, dict):
        return ["view must be a JSON object"]
    expected = "home" if home else "modal"
    if view.get("type") != expected:
        return [f"view.type must be {expected!r}, got {view.get('type')!r}"]
    problems: list[str] = []
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return ["view.blocks must be a list"]
    problems += block_problems(blocks, max_blocks=100)
    if not home:
        problems += _text_problems(view.get("title"), "view.title", 24, plain_only=True)
        for key in ("submit", "close"):
            problems += _text_problems(
                view.get(key), f"view.{key}", 24, plain_only=True, required=False
            )
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_inputs and "submit" not in view:
            problems.append("view.submit is required when the view has input blocks")
    for key, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            problems.append(f"view.{key} must be a string of at most {limit} characters")
    return problems
