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
from datetime import UTC, datetime, timedelta

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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
        if number == 0:
            return out


def _micros(at: datetime) -> int:
    delta = at.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def encode_feed(positions: dict[str, Position]) -> str:
    """``v2|t:<µs since 1970, base 36>~t1_txn_…|s:…``: four feeds fit the 200-character column."""
    parts = [
        f"{name}:{_base36(_micros(pos.at))}" + (f"~{pos.id}" if pos.id else "")
        for name, pos in sorted(positions.items())
    ]
    return "|".join(["v2", *parts])


def decode_feed(cursor: str) -> dict[str, Position]:
    """Both versions: ``v1`` stamps were ``%Y%m%d%H%M%S%f``, ``v2`` base-36 microseconds."""
    try:
        version, *parts = cursor.split("|")
        if version not in ("v1", "v2"):
            raise ValueError("unknown version")
        positions = {}
        for part in parts:
            name, _, rest = part.partition(":")
            stamp, _, record_id = rest.partition("~")
            if version == "v1":
                at = datetime.strptime(stamp, KEY_FORMAT).replace(tzinfo=UTC)
            else:
                at = _EPOCH + timedelta(microseconds=int(stamp, 36))
            positions[name] = Position(at, record_id)
    except ValueError:
        raise ProcessorError(BAD_FEED_CURSOR.format(cursor)) from None
    return positions
