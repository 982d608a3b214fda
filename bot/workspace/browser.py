"""The local workspace as a page in the browser: Slack's screens over FakeSlack's state.

The page (static/) polls GET /workspace/state and sends what a person does to the small JSON API
here, which reaches the bot only the way Slack does (signed requests through SlackSender) and
reads back what the bot did through FakeSlack. Nothing in the bot knows a browser is involved.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.workspace.sender import SlackSender
from bot.workspace.slack_api import JSON, FakeFile, FakeSlack, Message, SlackError
from bot.workspace.view_state import element_state, state_values

STATIC = Path(__file__).with_name("static")
COMMANDS = ("/pay",)
# Everything the page needs comes from this server: no CDN, no inline script, nothing external.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


@dataclass(frozen=True)
class Person:
    """Someone the page can act as; `note` is shown beside the name (their portal role)."""

    user_id: str
    note: str


@dataclass(frozen=True)
class ProcessorNews:
    """What a processor button did, in a sentence; `transaction_id` when there is one to look up."""

    ok: bool
    text: str
    transaction_id: str | None = None


class Processor(Protocol):
    """The payment processor acting on its own, behind the page's processor buttons."""

    async def new_payment(self, amount: str, method: str) -> ProcessorNews: ...

    async def chargeback(self, transaction_id: str) -> ProcessorNews: ...

    async def ach_return(self, transaction_id: str, code: str) -> ProcessorNews: ...

    async def settle(self) -> ProcessorNews: ...


class BadRequest(Exception):
    """A request the page should not have sent; the message is shown to the person."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BrowserWorkspace:
    def __init__(
        self,
        fake: FakeSlack,
        sender: SlackSender,
        *,
        people: Sequence[Person],
        channels: Sequence[str],
        purposes: Mapping[str, str] | None = None,
        tips: Sequence[str] = (),
        processor: Processor | None = None,
    ) -> None:
        self.fake = fake
        self.sender = sender
        self.people = list(people)
        self.channels = list(channels)
        self.purposes = dict(purposes or {})
        self.tips = list(tips)
        self.processor = processor

    def routes(self) -> list[web.AbstractRouteDef]:
        api: dict[str, Callable[[JSON], Awaitable[JSON]]] = {
            "command": self.command,
            "action": self.action,
            "submit": self.submit,
            "close": self.close,
            "home": self.home,
            "processor": self.processor_acts,
            "upload": self.upload,
        }
        return [
            web.get("/", self._index),
            web.static("/static", STATIC),
            web.get("/workspace/people", self._people),
            web.get("/workspace/state", self._state),
            web.get("/workspace/files/{file_id}", self._file),
            *(web.post(f"/workspace/{name}", _json_route(work)) for name, work in api.items()),
        ]

    # -- reading ---------------------------------------------------------------------------

    def state(self, user_id: str) -> JSON:
        """Everything the page shows to `user_id`: their channels and the messages they may
        see (ephemerals only their own), their open modal and their App Home."""
        self._person(user_id)
        fake = self.fake
        dm = fake.dm(user_id)
        channels: list[JSON] = [
            {
                "id": channel_id,
                "name": fake.channels[channel_id].name,
                "kind": "channel",
                "purpose": self.purposes.get(channel_id, ""),
            }
            for channel_id in self.channels
        ]
        channels.append({"id": dm, "name": "Paybot", "kind": "app", "purpose": ""})
        visible = {c["id"] for c in channels}
        stack = fake.modal_stack(user_id)
        return {
            "version": str(fake.revision),
            "me": user_id,
            "team": fake.team_name,
            "bot": fake.bot_user_id,
            "people": self._people_json(),
            "users": [
                {"id": u.id, "name": u.name, "real_name": u.real_name, "is_bot": u.is_bot}
                for u in fake.users.values()
            ],
            "channels": channels,
            "messages": [
                self._message(m)
                for m in fake.all_messages()
                if m.channel in visible and m.ephemeral_to in (None, user_id)
            ],
            "modal": stack[-1] if stack else None,
            "modal_depth": len(stack),
            "home": fake.home_view(user_id),
            "tips": self.tips,
            "processor": self.processor is not None,
        }

    def _message(self, m: Message) -> JSON:
        return {
            "channel": m.channel,
            "ts": m.ts,
            "thread_ts": m.thread_ts,
            "user": m.user,
            "text": m.text,
            "blocks": m.blocks,
            "attachments": m.attachments,
            "ephemeral": m.ephemeral_to is not None,
            "edited": m.edited,
            "files": [self._file_json(self.fake.files[f]) for f in m.files if f in self.fake.files],
        }

    @staticmethod
    def _file_json(file: FakeFile) -> JSON:
        return {
            "id": file.id,
            "name": file.filename,
            "title": file.title or file.filename,
            "url": f"/workspace/files/{file.id}",
            "image": _image_type(file.content) is not None,
        }

    # -- what a person does ----------------------------------------------------------------

    async def command(self, body: JSON) -> JSON:
        """A line typed in the message box: a slash command goes to the bot, signed, and its
        answer is shown as Slack shows it; anything else is the person's own message."""
        user = self._person(_text(body, "user"))
        channel = self._channel(_text(body, "channel"))
        text = str(body.get("text") or "").strip()
        if not text:
            raise BadRequest("Type a message, or a command such as /pay help.")
        if not text.startswith("/"):
            thread_ts = body.get("thread_ts")
            self.fake.post_as_user(user, channel, text, str(thread_ts) if thread_ts else None)
            return {"ok": True}
        name, _, rest = text.partition(" ")
        if name not in COMMANDS:
            raise BadRequest(
                f"{name} is not a valid command. In Slack, all messages that start with "
                '"/" are interpreted as commands.'
            )
        reply = await self.sender.command(user, rest.strip(), command=name, channel_id=channel)
        self.fake.show_command_answer(name, channel, user, reply.status, reply.text)
        return {"ok": True}

    async def action(self, body: JSON) -> JSON:
        """A click (or pick) on an element of a message, a modal or App Home."""
        user = self._person(_text(body, "user"))
        action_id = _text(body, "action_id")
        block_id = _optional_text(body, "block_id")
        value = _optional_text(body, "value")
        selected = body.get("selected")
        if selected is not None and not isinstance(selected, str | list):
            raise BadRequest("selected must be a value or a list of values")
        try:
            if body.get("view_id"):
                view = self._view(str(body["view_id"]))
                reply = await self.sender.block_action(
                    user,
                    action_id,
                    value,
                    block_id=block_id,
                    view=view["id"],
                    selected_option=selected,
                    state=_lenient_state(view, body.get("values")),
                )
            else:
                message = self.fake.message(_text(body, "channel"), _text(body, "ts"))
                reply = await self.sender.block_action(
                    user,
                    action_id,
                    value,
                    block_id=block_id,
                    message=message,
                    selected_option=selected,
                )
        except (LookupError, ValueError, SlackError) as e:
            raise BadRequest(str(e)) from None
        if reply.status != 200:
            raise BadRequest(f"Paybot did not answer the click (HTTP {reply.status}).", 502)
        return {"ok": True}

    async def submit(self, body: JSON) -> JSON:
        """The modal's submit button: Slack's own checks first (required fields), then the
        bot's answer applied as Slack applies it (close, errors, update, push)."""
        user = self._person(_text(body, "user"))
        view = self._view(_text(body, "view_id"))
        if view["id"] not in {v["id"] for v in self.fake.modal_stack(user)}:
            raise BadRequest("That modal is not open for you.", 409)
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise BadRequest("values must be an object keyed by block_id")
        try:
            state = state_values(view, values)
        except ValueError as e:
            raise BadRequest(str(e)) from None
        try:
            reply = await self.sender.view_submission(user, view["id"], state)
        except SlackError as e:
            raise BadRequest(f"Slack refused the bot's answer: {e}", 502) from None
        if reply.status != 200:
            raise BadRequest("We had some trouble connecting. Try again?", 502)
        answer = reply.json if isinstance(reply.json, dict) else {}
        errors = answer.get("errors") if answer.get("response_action") == "errors" else None
        return {"ok": True, "errors": errors or {}}

    async def upload(self, body: JSON) -> JSON:
        """A file picked in a modal's file_input: Slack stores it and the submission's state
        carries its file object, which the page keeps until the modal is submitted. The bytes
        come base64-encoded in JSON (the page's one way in), so about 750 kB at most here."""
        user = self._person(_text(body, "user"))
        name = _text(body, "name")[:255]
        try:
            content = base64.b64decode(_text(body, "content"), validate=True)
        except ValueError:
            raise BadRequest("content must be the file's bytes in base64") from None
        return {"file": self.fake.user_file(user, name, content)}

    async def close(self, body: JSON) -> JSON:
        """Cancel or the X: the view (and any pushed above it) closes; the bot hears of it
        only when the view asked to (notify_on_close), as in Slack."""
        user = self._person(_text(body, "user"))
        view = self._view(_text(body, "view_id"))
        if view.get("notify_on_close"):
            await self.sender.view_closed(user, view["id"])
        else:
            self.fake.close_view(user, view["id"])
        return {"ok": True}

    async def home(self, body: JSON) -> JSON:
        """The person opened the app's Home tab: Slack sends app_home_opened."""
        user = self._person(_text(body, "user"))
        reply = await self.sender.app_home_opened(user)
        return {"ok": True, "answered": reply.status == 200}

    async def processor_acts(self, body: JSON) -> JSON:
        if self.processor is None:
            raise BadRequest("This workspace has no processor controls.", 404)
        what = _text(body, "what")
        transaction_id = str(body.get("transaction_id") or "").strip()
        if what == "charge":
            news = await self.processor.new_payment(
                str(body.get("amount") or ""), str(body.get("method") or "card")
            )
        elif what == "chargeback":
            news = await self.processor.chargeback(transaction_id)
        elif what == "return":
            news = await self.processor.ach_return(transaction_id, str(body.get("code") or "R01"))
        elif what == "settle":
            news = await self.processor.settle()
        else:
            raise BadRequest(f"The processor cannot {what!r}.")
        self.fake.changed()
        return asdict(news)

    # -- plumbing --------------------------------------------------------------------------

    def _person(self, user_id: str) -> str:
        if user_id not in {p.user_id for p in self.people}:
            raise BadRequest(f"{user_id!r} is not someone this workspace can act as.")
        return user_id

    def _channel(self, channel_id: str) -> str:
        if channel_id not in self.fake.channels:
            raise BadRequest(f"There is no channel {channel_id!r}.")
        return channel_id

    def _view(self, view_id: str) -> JSON:
        view = self.fake.views.get(view_id)
        if view is None:
            raise BadRequest("That view is gone.", 404)
        return view

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(
            STATIC / "index.html",
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"},
        )

    async def _people(self, request: web.Request) -> web.Response:
        return web.json_response(self._people_json())

    def _people_json(self) -> list[JSON]:
        return [
            {"id": p.user_id, "name": self.fake.users[p.user_id].real_name, "note": p.note}
            for p in self.people
        ]

    async def _state(self, request: web.Request) -> web.Response:
        since = request.query.get("since")
        try:
            user = self._person(request.query.get("user", ""))
        except BadRequest as e:
            return web.json_response({"error": str(e)}, status=400)
        if since is not None and since == str(self.fake.revision):
            return web.json_response({"version": since, "changed": False})
        return web.json_response({**self.state(user), "changed": True})

    async def _file(self, request: web.Request) -> web.Response:
        """A file the bot uploaded: images shown inline, anything else only as a download, so
        an uploaded page can never run as this origin."""
        file = self.fake.files.get(request.match_info["file_id"])
        if file is None or file.content is None:
            raise web.HTTPNotFound()
        image = _image_type(file.content)
        headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
        if image is None:
            safe_name = "".join(c for c in file.filename if c.isalnum() or c in "._-") or "file"
            headers["Content-Disposition"] = f'attachment; filename="{safe_name}"'
        return web.Response(
            body=file.content,
            content_type=image or "application/octet-stream",
            headers=headers,
        )


def _json_route(work: Callable[[JSON], Awaitable[JSON]]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            # JSON only: another site's page cannot send it here without the browser asking.
            return web.json_response({"error": "Send application/json."}, status=415)
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.json_response({"error": "The body must be JSON."}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "The body must be a JSON object."}, status=400)
        try:
            return web.json_response(await work(body))
        except BadRequest as e:
            return web.json_response({"error": str(e)}, status=e.status)

    return handle


def _text(body: JSON, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} is required")
    return value


def _optional_text(body: JSON, name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def _lenient_state(view: JSON, values: Any) -> dict[str, dict[str, JSON]]:
    """The view's inputs as they stand mid-edit, for a click inside a modal: unlike a
    submission, empty or half-typed inputs are sent as they are."""
    out: dict[str, dict[str, JSON]] = {}
    given = values if isinstance(values, dict) else {}
    for block in view.get("blocks", []):
        element = block.get("element") or {}
        if (
            block.get("type") != "input"
            or not block.get("block_id")
            or not element.get("action_id")
        ):
            continue
        try:
            state = element_state(element, given.get(block["block_id"]))
        except ValueError:
            continue
        out[block["block_id"]] = {element["action_id"]: state}
    return out


def _image_type(content: bytes | None) -> str | None:
    if not content:
        return None
    return next((kind for magic, kind in _IMAGE_MAGIC.items() if content.startswith(magic)), None)
