"""The Stripe event feed: the events after a cursor, oldest first, as ours."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable
from typing import Any

from stripe.params import EventListParams

from bot.domain import EventBatch, ProcessorEvent
from bot.processors.stripe import webhooks
from bot.processors.stripe.connection import StripeConnection, log
from bot.processors.stripe.mapping import Obj, plain
from bot.processors.stripe.paging import STRIPE_MAX_LIMIT

MAX_EVENT_PAGES = 20  # pages of 100 read per events() call before handing back what was found


class StripeFeed(StripeConnection):
    """The ``events`` part of the gateway."""

    async def events(self, cursor: str | None, limit: int = 100) -> EventBatch:
        """Events after ``cursor`` (a Stripe event id), oldest first.

        Stripe lists newest first: ``ending_before=cursor`` gives the events just after it,
        newest first, so each page is reversed and the next one asked before its newest. With
        no cursor the feed starts at the oldest event Stripe still keeps (30 days). Only the
        types in ``webhooks.EVENT_TYPES`` are asked for; the cursor moves past events that map
        to nothing (a card decline) as well.
        """
        limit = max(1, limit)
        if cursor is not None:
            found = await self._events_after(cursor, limit)
            if found is not None:
                return found
            log.warning("event cursor %s is gone at Stripe; reading the feed again", cursor)
        first = await self._events_from_start(limit)
        if first.events or first.cursor is None:
            return first
        # Only events that map to nothing so far (card declines): read on, or the poller, which
        # keeps a cursor only with events, would start over each time.
        return await self._events_after(first.cursor, limit) or first

    async def feed_end(self) -> str | None:
        """The newest event of the types the feed reads: one request of one event (Stripe
        lists newest first)."""
        listed = plain(await self._list_events(self._event_params(1)))
        data = listed.get("data", [])
        return str(plain(data[0])["id"]) if data else None

    def _list_events(self, params: EventListParams) -> Awaitable[Any]:
        return self._call("Events", lambda: self._client.v1.events.list_async(params))

    def _find_events(self, params: EventListParams) -> Awaitable[Any]:
        return self._find("Events", lambda: self._client.v1.events.list_async(params))

    def _event_params(self, limit: int) -> EventListParams:
        return {"limit": min(limit, STRIPE_MAX_LIMIT), "types": list(webhooks.EVENT_TYPES)}

    async def _events_after(self, cursor: str, limit: int) -> EventBatch | None:
        """None when Stripe no longer has the cursor's event (it keeps events for 30 days)."""
        mapped: list[ProcessorEvent] = []
        newest = cursor
        for _ in range(MAX_EVENT_PAGES):
            params = self._event_params(limit - len(mapped))
            params["ending_before"] = newest
            found = await self._find_events(params)
            if found is None:
                return None
            listed = plain(found)
            data = [plain(e) for e in listed.get("data", [])]
            if not data:
                break
            for raw in reversed(data):
                event = await self._event_of(raw)
                if event is not None:
                    mapped.append(event)
            newest = str(data[0]["id"])
            if not listed.get("has_more") or len(mapped) >= limit:
                break
        return EventBatch(tuple(mapped), newest)

    async def _events_from_start(self, limit: int) -> EventBatch:
        oldest: deque[Obj] = deque(maxlen=limit)
        after: str | None = None
        while True:
            params = self._event_params(STRIPE_MAX_LIMIT)
            if after:
                params["starting_after"] = after
            listed = plain(await self._list_events(params))
            data = [plain(e) for e in listed.get("data", [])]
            oldest.extend(data)
            if not data or not listed.get("has_more"):
                break
            after = str(data[-1]["id"])
        if not oldest:
            return EventBatch((), None)
        batch = list(reversed(oldest))  # oldest first
        mapped = [await self._event_of(raw) for raw in batch]
        return EventBatch(tuple(e for e in mapped if e is not None), str(batch[-1]["id"]))

    async def _event_of(self, raw: Obj) -> ProcessorEvent | None:
        """One event of the feed as ours, listing the charge's refunds where it needs them."""
        charge_id = webhooks.refunds_needed(raw)
        refunds = await self._refunds_of(charge_id) if charge_id else None
        return webhooks.processor_event(raw, self._keys, refunds)
