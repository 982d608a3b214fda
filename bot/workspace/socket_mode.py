"""Slack's Socket Mode, as the fake workspace serves it: a WebSocket the app opens, envelopes
pushed down it, acks read back, and a sender that talks to the bot this way instead of HTTP.

Slack's rules (https://docs.slack.dev/apis/events-api/using-socket-mode/): the URL comes from
`apps.connections.open` called with the app-level token (`xapp-`); each URL's ticket connects
once; the first message is `hello`; every envelope (`slash_commands`, `interactive`,
`events_api`) must be acknowledged with its `envelope_id` within 3 seconds, carrying a `payload`
only where the envelope says `accepts_response_payload`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from bot.workspace.sender import Reply, SlackSender
from bot.workspace.slack_api import FakeSlack

JSON = dict[str, Any]
ACK_SECONDS = 3.0  # Slack's window for an envelope's ack


@dataclass
class Ack:
    """What became of one envelope: the ack's payload, or `acked` False when none came in time."""

    envelope_id: str
    type: str
    acked: bool
    payload: JSON | None = None
    seconds: float = 0.0


@dataclass
class _Connection:
    socket: web.WebSocketResponse
    opened_at: float
    pending: dict[str, asyncio.Future[JSON]] = field(default_factory=dict)


class SocketModeHub:
    """The Socket Mode side of one fake workspace. `problems` lists what Slack would not accept
    from the app (an ack for no envelope, a payload where none is accepted, a non-JSON frame)."""

    def __init__(self, app_id: str, ack_seconds: float = ACK_SECONDS) -> None:
        self.app_id = app_id
        self.ack_seconds = ack_seconds
        self.acks: list[Ack] = []
        self.problems: list[str] = []
        self.connections_opened = 0
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/link/", self._serve)]

    def new_url(self, root_url: str) -> str:
        """A one-use WebSocket URL, as apps.connections.open answers (ws:// on loopback)."""
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        ws_root = root_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return f"{ws_root}/link/?ticket={ticket}&app_id={self.app_id}"

    @property
    def connected(self) -> int:
        return sum(1 for c in self._connections if not c.socket.closed)

    async def wait_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a deadline
        deadline = time.monotonic() + timeout
        while not self.connected:
            if time.monotonic() > deadline:
                raise TimeoutError("no Socket Mode connection was opened")
            await asyncio.sleep(0.01)

    async def push(
        self,
        kind: str,
        payload: JSON,
        *,
        accepts_response_payload: bool,
        retry_attempt: int = 0,
    ) -> Ack:
        """Send one envelope down the newest connection and wait for its ack (3 s at most)."""
        live = [c for c in self._connections if not c.socket.closed]
        if not live:
            raise RuntimeError("no Socket Mode connection: is the bot running in Socket Mode?")
        connection = live[-1]
        envelope_id = str(uuid.uuid4())
        envelope: JSON = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            reason = "timeout" if retry_attempt else ""
            envelope.update(retry_attempt=retry_attempt, retry_reason=reason)
        waiter: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        connection.pending[envelope_id] = waiter
        started = time.monotonic()
        await connection.socket.send_str(json.dumps(envelope))
        try:
            answer = await asyncio.wait_for(waiter, timeout=self.ack_seconds)
        except TimeoutError:
            ack = Ack(envelope_id, kind, acked=False, seconds=time.monotonic() - started)
        else:
            given = answer.get("payload")
            if given is not None and not accepts_response_payload:
                self.problems.append(f"{kind} envelope {envelope_id} acked with a payload")
            ack = Ack(
                envelope_id,
                kind,
                acked=True,
                payload=given if isinstance(given, dict) else None,
                seconds=time.monotonic() - started,
            )
        finally:
            connection.pending.pop(envelope_id, None)
        self.acks.append(ack)
        return ack

    async def disconnect_all(self, reason: str = "refresh_requested") -> None:
        """Ask every connection to reconnect, as Slack does a few times an hour."""
        for connection in list(self._connections):
            if not connection.socket.closed:
                await connection.socket.send_str(
                    json.dumps({"type": "disconnect", "reason": reason, "debug_info": {}})
                )

    async def close(self) -> None:
        for connection in list(self._connections):
            await connection.socket.close()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        connection = _Connection(socket, time.monotonic())
        self._connections.append(connection)
        self.connections_opened += 1
        await socket.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": self.connected,
                    "debug_info": {
                        "host": "applink-fake",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                self._take_ack(connection, frame.data)
        finally:
            self._connections.remove(connection)
            for waiter in connection.pending.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("the socket closed before the ack"))
        return socket

    def _take_ack(self, connection: _Connection, data: str) -> None:
        try:
            answer = json.loads(data)
        except ValueError:
            self.problems.append(f"a frame that is not JSON: {data[:80]!r}")
            return
        envelope_id = answer.get("envelope_id") if isinstance(answer, dict) else None
        waiter = connection.pending.get(str(envelope_id))
        if waiter is None:
            self.problems.append(f"an ack for no pending envelope: {data[:80]!r}")
        elif not waiter.done():
            waiter.set_result(answer)


class SocketSender(SlackSender):
    """SlackSender over Socket Mode: the same commands, clicks, submissions and events, pushed
    to the bot as envelopes through the fake's WebSocket instead of signed HTTP posts. A Reply
    is 200 with the ack's payload, or 504 when no ack came within Slack's 3 seconds."""

    def __init__(self, fake: FakeSlack, team_id: str = "T0PAYBOT") -> None:
        super().__init__("http://socket-mode.invalid", "", fake, team_id=team_id)
        self.hub = fake.socket_mode

    async def _send(self, body: str, content_type: str, headers: Mapping[str, str] | None) -> Reply:
        if content_type == "application/json":
            payload = json.loads(body)
            if payload.get("type") != "event_callback":
                raise ValueError(f"{payload.get('type')} is never sent over Socket Mode")
            ack = await self.hub.push("events_api", payload, accepts_response_payload=False)
        else:
            form = dict(parse_qsl(body, keep_blank_values=True))
            if "payload" in form:
                interactive = json.loads(form["payload"])
                accepts = interactive.get("type") in ("view_submission", "block_suggestion")
                ack = await self.hub.push(
                    "interactive", interactive, accepts_response_payload=accepts
                )
            else:
                ack = await self.hub.push("slash_commands", form, accepts_response_payload=True)
        if not ack.acked:
            return Reply(504, "no ack within 3 s", None, {})
        text = json.dumps(ack.payload) if ack.payload is not None else ""
        return Reply(200, text, ack.payload, {})


def new_app_token(app_id: str) -> str:
    """An app-level token in Slack's shape."""
    return f"xapp-1-{app_id}-{secrets.randbelow(10**13)}-{secrets.token_hex(32)}"
