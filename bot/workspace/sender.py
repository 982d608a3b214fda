"""SlackSender: signed commands, clicks, submissions and events sent to the bot as Slack does."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp

from bot.workspace.signing import sign
from bot.workspace.slack_api import JSON, FakeSlack, Message
from bot.workspace.view_state import element_state, find_element, option_for, state_values

_VERIFICATION_TOKEN = "verification-token"  # noqa: S105 - Slack's deprecated, unchecked token
_FORM = "application/x-www-form-urlencoded"
# Elements whose pick travels in a block_actions payload the way it sits in view state.
_PICKED_ELSEWISE = (
    "checkboxes",
    "multi_static_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "channels_select",
    "datepicker",
    "timepicker",
)


def _describe(body: str, content_type: str) -> str:
    """A request in a few words, for a failure message: `/pay lookup txn_1`, `block_actions
    refund_open`, `view_submission refund_request`, `event_callback app_home_opened`."""
    try:
        if content_type == _FORM:
            form = dict(parse_qsl(body))
            if "payload" not in form:
                return f"{form.get('command', '?')} {form.get('text', '')}".strip()
            payload = json.loads(form["payload"])
        else:
            payload = json.loads(body)
    except ValueError:
        return "a request"
    kind = str(payload.get("type", "?"))
    detail = (
        (payload.get("actions") or [{}])[0].get("action_id")
        or (payload.get("view") or {}).get("callback_id")
        or (payload.get("event") or {}).get("type")
        or payload.get("callback_id")
        or ""
    )
    return f"{kind} {detail}".strip()


# How long Slack waits for the HTTP answer to a command, a click, a submission or an event.
SLACK_WINDOW = 3.0
_SIGNATURE_HEADERS = {"x-slack-signature", "x-slack-request-timestamp"}


class SlackWouldFail(AssertionError):
    """The bot answered a request shaped like Slack's with something Slack shows as an error:
    a status other than 200, or an answer later than Slack waits."""


@dataclass(frozen=True)
class Answered:
    """One request Slack would have sent, and how the bot answered it."""

    what: str
    status: int
    seconds: float


@dataclass(frozen=True)
class Reply:
    """What the bot answered: Slack only reads the status and, for views, the JSON body."""

    status: int
    text: str
    json: Any
    headers: Mapping[str, str]


class SlackSender:
    """Posts signed requests to the bot's /slack/events like Slack. With a FakeSlack, the
    response_urls and trigger_ids it sends belong to that fake, clicks are checked against
    buttons that really exist, and modal submissions close, update or push views there.

    Every request it signs is timed at the HTTP answer and kept in ``answers``; with a
    ``window`` (Slack's 3 s by default), an answer other than 200 or later than the window
    raises SlackWouldFail in the test that sent it, as Slack would show the person an error.
    Requests whose signature headers the caller forged, and ``raw`` ones, are not Slack's
    and are not checked."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        fake: FakeSlack | None,
        session: aiohttp.ClientSession | None = None,
        team_id: str = "T0PAYBOT",
        window: float | None = SLACK_WINDOW,
    ) -> None:
        self.url = bot_url.rstrip("/") + "/slack/events"
        self.signing_secret = signing_secret
        self.fake = fake
        self.team_id = team_id
        self.team_domain = fake.team_domain if fake else "paybot-test"
        self.app_id = fake.app_id if fake else "A0PAYBOT"
        self._session = session
        self._own_session = session is None
        self.window = window
        self.answers: list[Answered] = []

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> SlackSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what users do ----------------------------------------------------------------------

    async def command(
        self,
        user_id: str,
        text: str = "",
        command: str = "/pay",
        channel_id: str = "C0GENERAL",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """A slash command, form-encoded as Slack sends it."""
        form = {
            "token": _VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(channel_id, user_id, None),
            "trigger_id": self._trigger(user_id),
        }
        return await self._send(urlencode(form), _FORM, headers)

    async def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        container: JSON | None = None,
        message: Message | JSON | None = None,
        view: JSON | str | None = None,
        channel_id: str | None = None,
        selected_option: str | list[str] | JSON | None = None,
        state: Mapping[str, Mapping[str, JSON]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """A click on an element of a message or a view. Given the message or view, the
        element is looked up there (its block_id, value, type and options come from it) and
        a missing action_id raises LookupError: Slack cannot send a click on nothing.

        `selected_option` is what was picked: an option value (select, overflow, radio), a
        list of them (checkboxes), a user id (users_select) or a date (datepicker). `state`
        is the view's input values at the moment of the click, as Slack sends them."""
        message_json: JSON | None = None
        message_ts: str | None = None
        thread_ts: str | None = None
        ephemeral = False
        if isinstance(message, Message):
            channel_id = channel_id or message.channel
            message_ts, ephemeral = message.ts, message.ephemeral_to is not None
            thread_ts = message.thread_ts
            message_json = self.fake.message_json(message) if self.fake else None
        elif message is not None:
            message_json, message_ts = dict(message), message.get("ts")
        view_json = self._current_view(view) if view is not None else None
        blocks = (view_json or message_json or {}).get("blocks")
        element: JSON = {"type": "static_select" if selected_option else "button"}
        if view_json is not None or message_json is not None:
            found = find_element(blocks or [], action_id, block_id, value)
            if found is None:
                where = f"view {view_json['id']}" if view_json else f"message {message_ts}"
                raise LookupError(f"no element with action_id {action_id!r} in {where}")
            block_id, element = block_id or found[0], found[1]
        action: JSON = {
            "action_id": action_id,
            "block_id": block_id or "b",
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element.get("text", {"type": "plain_text", "text": action_id})
            chosen = value if value is not None else element.get("value")
            if chosen is not None:
                action["value"] = chosen
        elif isinstance(selected_option, dict):
            action["selected_option"] = selected_option
        elif element["type"] == "overflow":
            picked = selected_option if selected_option is not None else value
            action["selected_option"] = option_for(element, str(picked))
        elif element["type"] in _PICKED_ELSEWISE:
            action.update(element_state(element, selected_option))
        elif selected_option is not None or value is not None:
            option_value = str(selected_option if selected_option is not None else value)
            action["selected_option"] = (
                option_for(element, option_value)
                if "options" in element or "option_groups" in element
                else {"text": {"type": "plain_text", "text": option_value}, "value": option_value}
            )
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.app_id,
            "token": _VERIFICATION_TOKEN,
            "trigger_id": self._trigger(user_id),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [action],
        }
        values = {k: dict(v) for k, v in (state or {}).items()}
        if view_json is not None:
            payload["container"] = container or {"type": "view", "view_id": view_json["id"]}
            payload["view"] = {**view_json, "state": {"values": values}}
        else:
            payload["container"] = container or {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            }
            if container is None and thread_ts is not None:
                payload["container"]["thread_ts"] = thread_ts
            if channel_id is not None:
                payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
            if message_json is not None and not ephemeral:
                payload["message"] = message_json
            payload["state"] = {"values": values}
            payload["response_url"] = self._response_url(channel_id, user_id, message_ts)
        return await self._send_payload(payload, headers)

    async def view_submission(
        self,
        user_id: str,
        view: JSON | str,
        values: Mapping[str, Mapping[str, JSON]],
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """A modal submitted with these state values. With a fake, the view sent is the one
        it currently holds, and the bot's answer is applied to the user's modal stack."""
        current = self._current_view(view)
        payload: JSON = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user(user_id),
            "api_app_id": self.app_id,
            "token": _VERIFICATION_TOKEN,
            "trigger_id": self._trigger(user_id),
            "view": {**current, "state": {"values": {k: dict(v) for k, v in values.items()}}},
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        reply = await self._send_payload(payload, headers)
        view_id = current.get("id")
        if self.fake is not None and reply.status == 200 and view_id in self.fake.views:
            answer = reply.json if isinstance(reply.json, dict) else None
            self.fake.after_submission(user_id, str(view_id), answer)
        return reply

    async def submit(
        self,
        user_id: str,
        view: JSON | str,
        values: Mapping[str, Any] | None = None,
        /,
        **by_block_id: Any,
    ) -> Reply:
        """view_submission with state built by `state_values`: `submit(u, view, amount="12")`."""
        current = self._current_view(view)
        return await self.view_submission(
            user_id, current, state_values(current, values, **by_block_id)
        )

    async def view_closed(
        self, user_id: str, view: JSON | str, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """The user dismissed a modal; Slack only tells the bot if notify_on_close is set."""
        current = self._current_view(view)
        payload: JSON = {
            "type": "view_closed",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user(user_id),
            "api_app_id": self.app_id,
            "token": _VERIFICATION_TOKEN,
            "view": current,
            "is_cleared": False,
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if self.fake is not None and current.get("id"):
            self.fake.close_view(user_id, str(current["id"]))
        return await self._send_payload(payload, headers)

    async def event(self, event: JSON, headers: Mapping[str, str] | None = None) -> Reply:
        """An Events API delivery wrapping `event`."""
        bot_user_id = self.fake.bot_user_id if self.fake else "U0PAYBOT"
        body = {
            "token": _VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_hex(12),
        }
        return await self._send(json.dumps(body), "application/json", headers)

    async def app_home_opened(self, user_id: str, tab: str = "home") -> Reply:
        """The user opened the app's Home (or Messages) tab; the published view rides along."""
        event: JSON = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.fake.dm(user_id) if self.fake else f"D{user_id[1:]}",
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        home = self.fake.home_view(user_id) if self.fake else None
        if home is not None:
            event["view"] = home
        return await self.event(event)

    async def url_verification(self, challenge: str = "challenge-token") -> Reply:
        """The handshake Slack sends when the Request URL is saved in the app config."""
        body = {"token": _VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return await self._send(json.dumps(body), "application/json", None)

    async def send(self, body: str | JSON, headers: Mapping[str, str] | None = None) -> Reply:
        """A hand-built body, signed and checked like Slack's: a dict is posted as JSON (an
        Events API body), a string as a form (a slash command, or ``payload=…``)."""
        if isinstance(body, str):
            return await self._send(body, _FORM, headers)
        return await self._send(json.dumps(body), "application/json", headers)

    async def raw(
        self, body: str, content_type: str = _FORM, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """An unsigned request, for tests of what the bot refuses."""
        return await self._post(body, content_type, dict(headers or {}))

    # -- plumbing ---------------------------------------------------------------------------

    async def _send_payload(self, payload: JSON, headers: Mapping[str, str] | None) -> Reply:
        return await self._send(urlencode({"payload": json.dumps(payload)}), _FORM, headers)

    async def _send(self, body: str, content_type: str, headers: Mapping[str, str] | None) -> Reply:
        forged = any(name.lower() in _SIGNATURE_HEADERS for name in headers or {})
        started = time.monotonic()
        reply = await self._post(
            body, content_type, {**sign(body, self.signing_secret), **(headers or {})}
        )
        if not forged:
            self._check(_describe(body, content_type), reply, time.monotonic() - started)
        return reply

    def _check(self, what: str, reply: Reply, seconds: float) -> None:
        self.answers.append(Answered(what, reply.status, seconds))
        if self.window is None:
            return
        if reply.status != 200 or seconds > self.window:
            raise SlackWouldFail(
                f"{what} was answered {reply.status} after {seconds:.2f} s (Slack wants 200 "
                f"within {self.window:g} s): {reply.text[:300]}"
            )

    async def _post(self, body: str, content_type: str, headers: dict[str, str]) -> Reply:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": content_type, **headers}
        async with self._session.post(self.url, data=body.encode(), headers=headers) as res:
            text = await res.text()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            return Reply(res.status, text, parsed, dict(res.headers))

    def _current_view(self, view: JSON | str) -> JSON:
        view_id = view if isinstance(view, str) else view.get("id")
        if self.fake is not None and view_id in self.fake.views:
            return self.fake.views[str(view_id)]
        if isinstance(view, str):
            raise LookupError(f"no view {view} in the fake workspace")
        return dict(view)

    def _trigger(self, user_id: str) -> str:
        if self.fake is not None:
            return self.fake.new_trigger_id(user_id)
        return f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"

    def _response_url(self, channel_id: str | None, user_id: str, message_ts: str | None) -> str:
        if self.fake is not None:
            return self.fake.response_url(channel=channel_id, user=user_id, message_ts=message_ts)
        return f"https://hooks.slack.com/actions/{self.team_id}/1/{secrets.token_hex(12)}"

    def _user(self, user_id: str) -> JSON:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _user_name(self, user_id: str) -> str:
        user = self.fake.users.get(user_id) if self.fake else None
        return user.name if user else user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        channel = self.fake.channels.get(channel_id) if self.fake else None
        if channel is None:
            return "unknown"
        return "directmessage" if channel.is_im else channel.name
