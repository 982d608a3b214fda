"""The fake workspace's records (users, channels, messages, files, calls) and its errors."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


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
    """A file from files.getUploadURLExternal (`content` stays None until the bytes arrive), or
    one a person uploaded in the Slack client (a file_input, a message in a thread)."""

    id: str
    filename: str
    length: int
    title: str | None = None
    content: bytes | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False
    user: str | None = None  # who uploaded it (None: the bot)


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


class RateLimited(Exception):
    def __init__(self, retry_after: int, scope: str = "*") -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after
        self.scope = scope  # the channel over its limit, or "*" for the workspace's


@dataclass
class Fault:
    error: str
    status: int
    retry_after: int
    times: int


@dataclass
class ResponseTarget:
    channel: str | None
    user: str | None
    message_ts: str | None
    issued: float = 0.0  # the fake's monotonic clock when the request carrying it was sent
    uses: int = 0


@dataclass
class Limiter:
    per_channel_per_second: float | None
    per_workspace_per_minute: int | None
    burst: int
    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)
    recent: deque[float] = field(default_factory=deque)
