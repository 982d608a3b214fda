"""Pages over Stripe's lists: newest first, anchored on an object id (``starting_after`` to go on,
``ending_before`` to go back), with an optional filter Stripe cannot apply itself.

A filtered page is found by reading Stripe's pages of 100 and keeping what matches, at most
``MAX_SCAN_PAGES`` of them per page shown; when the limit is reached first, the page is short and
its "next" link goes on from the last object read, so nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.errors import ProcessorError
from bot.processors.stripe.mapping import Obj, plain

STRIPE_MAX_LIMIT = 100
MAX_SCAN_PAGES = 5
BAD_CURSOR = "That page link is no longer valid; start the list again."

AFTER = "after"
BEFORE = "before"

# Fetch one page: (limit, starting_after, ending_before) -> Stripe's list object.
Fetch = Callable[[int, str | None, str | None], Awaitable[Any]]
Keep = Callable[[Obj], bool]


@dataclass(frozen=True)
class Scanned:
    items: list[Obj]
    next_cursor: str | None
    prev_cursor: str | None


def encode_cursor(listing: str, direction: str, object_id: str) -> str:
    """``listing`` names the list and its filter, so a cursor from another list is refused."""
    return f"{listing}|{direction}|{object_id}"


def decode_cursor(listing: str, cursor: str) -> tuple[str, str]:
    parts = cursor.split("|")
    if len(parts) != 3 or parts[0] != listing or parts[1] not in (AFTER, BEFORE) or not parts[2]:
        raise ProcessorError(BAD_CURSOR)
    return parts[1], parts[2]


def _page(listed: Any) -> tuple[list[Obj], bool]:
    raw = plain(listed)
    data = raw.get("data")
    items = [plain(item) for item in data] if isinstance(data, list) else []
    return items, bool(raw.get("has_more"))


async def scan(
    fetch: Fetch,
    listing: str,
    limit: int,
    cursor: str | None,
    keep: Keep | None = None,
) -> Scanned:
    """One page of ``limit`` objects (newest first) after or before ``cursor``."""
    limit = max(1, min(limit, STRIPE_MAX_LIMIT))
    batch = STRIPE_MAX_LIMIT if keep else min(limit + 1, STRIPE_MAX_LIMIT)
    wanted = keep or (lambda _obj: True)
    if cursor is None:
        return await _forward(fetch, listing, limit, batch, wanted, None)
    direction, anchor = decode_cursor(listing, cursor)
    if direction == AFTER:
        return await _forward(fetch, listing, limit, batch, wanted, anchor)
    return await _backward(fetch, listing, limit, batch, wanted, anchor)


async def _forward(
    fetch: Fetch, listing: str, limit: int, batch: int, keep: Keep, anchor: str | None
) -> Scanned:
    kept: list[Obj] = []
    after, more, last_read = anchor, True, anchor
    for _ in range(MAX_SCAN_PAGES):
        items, more = _page(await fetch(batch, after, None))
        for item in items:
            last_read = str(item["id"])
            if keep(item):
                kept.append(item)
                if len(kept) > limit:
                    break
        if len(kept) > limit or not more or not items:
            break
        after = str(items[-1]["id"])
    prev_cursor = encode_cursor(listing, BEFORE, str(kept[0]["id"])) if anchor and kept else None
    if len(kept) > limit:
        kept = kept[:limit]
        return Scanned(kept, encode_cursor(listing, AFTER, str(kept[-1]["id"])), prev_cursor)
    if more and last_read:  # stopped at the scan limit: go on from the last object read
        return Scanned(kept, encode_cursor(listing, AFTER, last_read), prev_cursor)
    return Scanned(kept, None, prev_cursor)


async def _backward(
    fetch: Fetch, listing: str, limit: int, batch: int, keep: Keep, anchor: str
) -> Scanned:
    """The ``limit`` kept objects just newer than ``anchor``: Stripe's ``ending_before`` pages
    come newest first, each one nearer the top of the list than the last."""
    kept: list[Obj] = []
    before, more = anchor, True
    for _ in range(MAX_SCAN_PAGES):
        items, more = _page(await fetch(batch, None, before))
        kept = [item for item in items if keep(item)] + kept
        if len(kept) > limit or not more or not items:
            break
        before = str(items[0]["id"])
    if not kept:  # nothing newer matches: the first page is the one before
        return await _forward(fetch, listing, limit, batch, keep, None)
    newer_exist = len(kept) > limit or more
    kept = kept[-limit:]
    next_cursor = encode_cursor(listing, AFTER, str(kept[-1]["id"]))
    prev_cursor = encode_cursor(listing, BEFORE, str(kept[0]["id"])) if newer_exist else None
    return Scanned(kept, next_cursor, prev_cursor)
