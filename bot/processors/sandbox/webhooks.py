"""The sandbox processor's webhooks, signed the way real processors sign theirs.

Body: ``{"events": [{"id", "type", "object_id", "created_at", "data"}]}``. Header
``Paybot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">``, checked in constant time
and refused when older than five minutes, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain import EventType, ProcessorEvent
from bot.errors import PaybotError
from bot.pan import FORMAT

HEADER = "Paybot-Signature"
_UNPRINTABLE = re.compile(f"[\x00-\x1f\x7f-\x9f{FORMAT}]")
TOLERANCE_SECONDS = 300


class WebhookRejected(PaybotError):
    """A webhook whose signature, age or body is not acceptable: answered 400, nothing stored."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def encode(
    events: Sequence[ProcessorEvent], secret: str, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """What the sandbox would POST: the body and its signature header."""
    body = json.dumps(
        {
            "events": [
                {
                    "id": e.id,
                    "type": e.type.value,
                    "object_id": e.object_id,
                    "created_at": e.created_at.isoformat(),
                    "data": dict(e.data),
                }
                for e in events
            ]
        },
        separators=(",", ":"),
    ).encode()
    timestamp = int(now.timestamp())
    return body, {
        HEADER: f"t={timestamp},v1={_digest(secret, timestamp, body)}",
        "Content-Type": "application/json",
    }


def decode(
    body: bytes, headers: Mapping[str, str], secret: str | None, now: datetime
) -> tuple[ProcessorEvent, ...]:
    if not secret:
        raise WebhookRejected("webhooks are not configured (PAYBOT_WEBHOOK_SECRET is not set)")
    parts = dict(p.split("=", 1) for p in headers.get(HEADER, "").split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise WebhookRejected("missing or malformed signature header") from None
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise WebhookRejected("stale webhook: the signature is older than five minutes")
    if not hmac.compare_digest(_digest(secret, timestamp, body), parts.get("v1", "")):
        raise WebhookRejected("bad webhook signature")
    try:
        parsed = _Body.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise WebhookRejected(f"malformed webhook body: {where}: {first['msg']}") from None
    except RecursionError:
        raise WebhookRejected("malformed webhook body: nested too deep") from None
    return tuple(
        ProcessorEvent(
            id=e.id, type=e.type, object_id=e.object_id, created_at=e.created_at, data=e.data
        )
        for e in parsed.events
    )


class _Event(BaseModel):
    """One event as the sandbox sends it; every field checked, a time only with its zone."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    # processor_events keeps ids in VARCHAR(100)
    id: str = Field(min_length=1, max_length=100)
    type: EventType
    object_id: str = Field(min_length=1, max_length=100)
    created_at: AwareDatetime
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data", mode="before")
    @classmethod
    def _no_data(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("id", "object_id")
    @classmethod
    def _printable(cls, value: str) -> str:
        if _UNPRINTABLE.search(value):
            raise ValueError("control or invisible format characters in an id")
        return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    events: list[_Event] = Field(max_length=1000)
