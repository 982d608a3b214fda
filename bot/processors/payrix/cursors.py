"""Opaque cursors: a page number for Payrix's page-number listings, and the event feed's position.

A listing cursor names the listing it came from, so a cursor from another order or search is
refused rather than read as a page of something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import ProcessorError

BAD_CURSOR = "That page link is no longer valid; start the list again."
BAD_FEED_CURSOR = "{!r} is not a cursor the Payrix event feed gave."
KEY_FORMAT = "%Y%m%d%H%M%S%f"


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:10]


def encode_page(listing: str, page: int) -> str:
    raw = json.dumps({"l": listing, "p": page}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page(listing: str, cursor: str | None) -> int:
    if cursor is None:
        return 1
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        page = payload["p"]
        if payload.get("l") != listing or not isinstance(page, int) or page < 1:
            raise ValueError("cursor from another listing")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ProcessorError(BAD_CURSOR) from None
    return page


def page_cursors(listing: str, page: int, more: bool) -> tuple[str | None, str | None]:
    next_cursor = encode_page(listing, page + 1) if more else None
    prev_cursor = encode_page(listing, page - 1) if page > 1 else None
    return next_cursor, prev_cursor


@dataclass(frozen=True, order=True)
class Position:
    """Where one feed was read up to: a record's time, then its id (``""``: before any id)."""

    at: datetime
    id: str = ""


def encode_feed(positions: dict[str, Position]) -> str:
    """``v1|t:20251217111937096100~t1_txn_…|s:…`` — short enough for the 200-character column."""
    parts = [
        f"{name}:{pos.at.astimezone(UTC).strftime(KEY_FORMAT)}" + (f"~{pos.id}" if pos.id else "")
        for name, pos in sorted(positions.items())
    ]
    return "|".join(["v1", *parts])


def decode_feed(cursor: str) -> dict[str, Position]:
    try:
        version, *parts = cursor.split("|")
        if version != "v1":
            raise ValueError("unknown version")
        positions = {}
        for part in parts:
            name, _, rest = part.partition(":")
            stamp, _, record_id = rest.partition("~")
            at = datetime.strptime(stamp, KEY_FORMAT).replace(tzinfo=UTC)
            positions[name] = Position(at, record_id)
    except ValueError:
        raise ProcessorError(BAD_FEED_CURSOR.format(cursor)) from None
    return positions
