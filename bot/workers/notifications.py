"""Delivering the outbox to Slack: paced per channel, digests for bursts, marked sent with the ts.

Every message the bot sends after an ack comes this way. What a notice says is blocks/notices.py;
what it means for the domain (its objects, its thread, what its post changes) services/notices.py.

Slack allows about one message per second per channel. A burst (more than a handful of items at
once) becomes one digest message whose thread holds the items, several to a message, so a thousand
events take dozens of messages, not a thousand. 429s are retried by slack_sdk's retry handler,
which honours Retry-After; what still fails is retried later with back-off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import disputes as dispute_blocks
from bot.blocks.notices import render
from bot.clock import Clock
from bot.domain import Notice
from bot.ids import NoticeKind
from bot.services.container import Services
from bot.services.jobs import worker_name
from bot.services.outbox import OutboxItem
from bot.slack.directory import SlackDirectory
from bot.slack.home import permalinks

log = logging.getLogger("paybot.notify")

# Top-level posts, a digest when many come at once for a channel.
THREADLESS = (NoticeKind.DISPUTE_CREATED, NoticeKind.RETURN_CREATED, NoticeKind.WITHDRAWAL_RETURNED)
# Top-level posts, each its own message: approval requests (with buttons), answers to clicks and
# the daily settlement digest.
ALONE = (NoticeKind.REFUND_REQUEST, NoticeKind.REPLY, NoticeKind.DAILY_DIGEST)
# chat.update of a message
UPDATES = (
    NoticeKind.REFUND_UPDATE,
    NoticeKind.RESPONSE_UPDATE,
    NoticeKind.CHECKLIST_UPDATE,
    NoticeKind.ACCEPTANCE_UPDATE,
)
DIGEST_AT = 4  # this many items or more at once for one channel become a digest
BLOCKS_PER_MESSAGE = 50  # Slack's limit: a digest reply holds as many items as fit


METADATA_EVENT = "paybot_outbox"
CARRIES = "outbox"  # the message shows these items: they are delivered
ANNOUNCES = "digest"  # a digest parent: it names items its thread will hold, delivers none
HISTORY_PAGE = 200  # messages a page when recovery reads a channel or thread
HISTORY_PAGES = 5  # how far back recovery looks: a dead process posted recently


def metadata(role: str, keys: Sequence[str]) -> dict[str, Any]:
    """The outbox keys a message carries, in its message metadata. Slack's documented shape
    (docs.slack.dev/messaging/message-metadata; @slack/types MessageMetadata): event_payload
    values are strings, numbers, booleans, objects of those or arrays of such objects, so the
    keys travel as an array of {"key": ...} objects, not an array of strings."""
    return {"event_type": METADATA_EVENT, "event_payload": {role: [{"key": k} for k in keys]}}


def carried(message: dict[str, Any], role: str) -> set[str]:
    """The outbox keys a message's metadata names in `role` (none if it is not ours)."""
    found = message.get("metadata") or {}
    if found.get("event_type") != METADATA_EVENT:
        return set()
    entries = (found.get("event_payload") or {}).get(role) or []
    # Plain strings: what earlier versions wrote, still in the channels' history.
    return {str(e.get("key") if isinstance(e, dict) else e) for e in entries}


class Stopping(Exception):
    """The process is shutting down: the item goes back to the outbox for another process."""


@dataclass
class Rendered:
    item: OutboxItem
    blocks: list[Block]
    text: str
    notice: Notice | None = None


class Pacer:
    """At most one post per ``interval`` seconds per channel, across this process.

    The interval counts from Slack's answer to the previous post (``answered``): that post had
    arrived by then, so the next one arrives at least ``interval`` after it whatever the jitter
    on the way. Counted from the sending instead, two posts can land a hair under a second
    apart, and the 429 that follows costs a whole Retry-After.
    """

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def wait(self, channel: str) -> None:
        async with self._locks[channel]:
            gap = self._last.get(channel, 0.0) + self._interval - time.monotonic()
            if gap > 0:
                await asyncio.sleep(gap)
            self._last[channel] = time.monotonic()

    def answered(self, channel: str) -> None:
        self._last[channel] = time.monotonic()


class Delivery:
    def __init__(
        self,
        services: Services,
        client: AsyncWebClient,
        directory: SlackDirectory,
        clock: Clock,
        pace: float = 1.0,
    ) -> None:
        self._services = services
        self._client = client
        self._directory = directory
        self._clock = clock
        self._pacer = Pacer(pace)
        self.owner = worker_name()
        self.posted = 0
        self._stopping = False
        self._claimed: set[int] = set()
        # Channel (and thread) histories read this round: recovery looks many keys up in one.
        self._pages: dict[tuple[str, str | None], list[dict[str, Any]]] = {}

    async def stop(self) -> None:
        """Take no more posts; hand back what this process claimed but did not post."""
        self._stopping = True
        await self._services.outbox.release(sorted(self._claimed), self.owner)
        self._claimed.clear()

    async def deliver(self) -> int:
        """Deliver everything ready now; the count of items delivered."""
        if self._stopping:
            return 0
        items = await self._services.outbox.claim(self.owner)
        self._pages = {}
        self._claimed.update(i.id for i in items)
        by_channel: defaultdict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_channel[item.channel].append(item)
        try:
            done = await asyncio.gather(
                *(self._deliver_channel(c, batch) for c, batch in by_channel.items())
            )
        finally:
            self._claimed.difference_update(i.id for i in items)
        return sum(done)

    async def _deliver_channel(self, channel: str, items: list[OutboxItem]) -> int:
        rendered: list[Rendered] = []
        for item in items:
            try:
                rendered.append(await self._render(item))
            except Exception as exc:
                await self._services.outbox.retry(item, self.owner, repr(exc))
        rendered = await self._drop_posted(channel, rendered)
        threadless = [r for r in rendered if r.item.kind in THREADLESS]
        alone = [r for r in rendered if r.item.kind in ALONE]
        threaded = [r for r in rendered if r not in threadless and r not in alone]
        delivered = 0
        if len(threadless) >= DIGEST_AT:
            delivered += await self._digest(channel, threadless, threaded)
        else:
            alone = threadless + alone
        for one in alone:
            delivered += await self._single(channel, one)
        for one in threaded:
            delivered += await self._reply(channel, one)
        return delivered

    async def _post(
        self,
        channel: str,
        text: str,
        blocks: Sequence[Block] | None,
        thread_ts: str | None,
        items: Sequence[OutboxItem],
        role: str = CARRIES,
    ) -> dict[str, str]:
        """Post once. Items claimed before (by a process that died after posting but before
        marking them sent) are first looked for by the outbox keys their message carries."""
        if self._stopping:
            raise Stopping()
        keys = [i.key for i in items]
        if any(i.attempts > 1 for i in items):
            found = await self._posted_before(channel, keys, thread_ts, role)
            if found:
                return found
        await self._pacer.wait(channel)
        try:
            answer = await self._client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata(role, keys),
            )
        finally:
            self._pacer.answered(channel)
        self.posted += 1
        return {"channel": str(answer["channel"]), "ts": str(answer["ts"])}

    async def _posted_before(
        self, channel: str, keys: list[str], thread_ts: str | None, role: str = CARRIES
    ) -> dict[str, str] | None:
        """Our earlier post of these outbox keys, if any. Keys, not row ids: they come from the
        processor's event ids, so another installation posting to the channel never matches."""
        if channel.startswith(("U", "W")):
            return None  # a DM's history needs im:history: a repeated DM is the accepted risk
        for message in await self._messages(channel, thread_ts):
            if set(keys) <= carried(message, role):
                return {"channel": channel, "ts": str(message["ts"])}
        return None

    async def _messages(self, channel: str, thread_ts: str | None) -> list[dict[str, Any]]:
        """The latest messages of a channel or thread (a few pages, followed by their cursors),
        read from Slack once a round: what a dead process posted was there before the round
        began, and the history methods allow only about 50 calls a minute."""
        page_key = (channel, thread_ts)
        if page_key not in self._pages:
            found: list[dict[str, Any]] = []
            cursor: str | None = None
            for _ in range(HISTORY_PAGES):
                if thread_ts:
                    page = await self._client.conversations_replies(
                        channel=channel,
                        ts=thread_ts,
                        include_all_metadata=True,
                        limit=HISTORY_PAGE,
                        cursor=cursor,
                    )
                else:
                    page = await self._client.conversations_history(
                        channel=channel,
                        include_all_metadata=True,
                        limit=HISTORY_PAGE,
                        cursor=cursor,
                    )
                found += page.get("messages") or []
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not page.get("has_more") or not cursor:
                    break
            self._pages[page_key] = found
        return self._pages[page_key]

    async def _drop_posted(self, channel: str, items: list[Rendered]) -> list[Rendered]:
        """Items a dead process posted as single messages: mark them sent instead of posting
        again, after what their post changes (it may not have been recorded)."""
        retried = [r for r in items if r.item.attempts > 1]
        if not retried:
            return items
        posted: set[int] = set()
        for thread_ts in {None, *(r.item.thread_ts for r in retried if r.item.thread_ts)}:
            for one in retried:
                if one.item.id in posted:
                    continue
                found = await self._posted_before(channel, [one.item.key], thread_ts)
                if found:
                    await self._after_post(one, channel, found["ts"], thread_ts or found["ts"])
                    await self._services.outbox.sent(
                        [one.item.id], found["ts"], thread_ts, self.owner
                    )
                    posted.add(one.item.id)
        return [r for r in items if r.item.id not in posted]

    async def _single(self, channel: str, one: Rendered) -> int:
        try:
            posted = await self._post(channel, one.text, one.blocks, None, [one.item])
        except Exception as exc:
            await self._services.outbox.retry(one.item, self.owner, repr(exc))
            return 0
        await self._after_post(one, posted["channel"], posted["ts"], posted["ts"])
        await self._services.outbox.sent([one.item.id], posted["ts"], posted["ts"], self.owner)
        return 1

    async def _digest(self, channel: str, items: list[Rendered], updates: list[Rendered]) -> int:
        outbox = self._services.outbox
        parent_ts = next((r.item.thread_ts for r in items if r.item.thread_ts), None)
        if parent_ts is None:
            disputes = sum(1 for r in items if r.item.kind == NoticeKind.DISPUTE_CREATED)
            try:
                parent = await self._post(
                    channel,
                    dispute_blocks.digest_parent(disputes, len(items) - disputes, 0),
                    None,
                    None,
                    [r.item for r in items],
                    ANNOUNCES,
                )
            except Exception as exc:
                for r in items:
                    await outbox.retry(r.item, self.owner, repr(exc))
                return 0
            parent_ts = parent["ts"]
            await outbox.set_thread([r.item.id for r in items], parent_ts)
        delivered = 0
        for chunk in chunks(items):
            blocks = chunk_blocks(chunk)
            try:
                posted = await self._post(
                    channel, f"{len(chunk)} items", blocks, parent_ts, [r.item for r in chunk]
                )
            except Exception as exc:
                for r in chunk:
                    await outbox.retry(r.item, self.owner, repr(exc))
                continue
            for one in chunk:
                await self._after_post(one, posted["channel"], posted["ts"], parent_ts)
            await outbox.sent([r.item.id for r in chunk], posted["ts"], parent_ts, self.owner)
            delivered += len(chunk)
        return delivered

    async def _after_post(self, one: Rendered, channel: str, ts: str, thread_ts: str) -> None:
        """What the post changes: where a request's message or a dispute's thread is."""
        if one.notice is not None:
            resolve = self._directory.user_for_email
            await self._services.notices.posted(one.notice, channel, ts, thread_ts, resolve)

    async def _reply(self, channel: str, one: Rendered) -> int:
        """Replies in a request's or a dispute's thread, direct messages, and updates."""
        outbox, notices = self._services.outbox, self._services.notices
        assert one.notice is not None
        try:
            if one.item.kind in UPDATES:
                await self._update(one)
                await outbox.sent([one.item.id], None, None, self.owner)
                return 1
            if one.item.kind == NoticeKind.REFUND_MATTER:
                await notices.tell_matter(one.notice, channel, self._directory.user_for_email)
                await outbox.sent([one.item.id], None, None, self.owner)
                return 1
            thread = await notices.thread(one.notice)
            thread_ts = thread.ts if thread else None
            if thread is not None:
                if thread.told:
                    await outbox.sent([one.item.id], None, thread_ts, self.owner)
                    return 1  # the thread already says this (another feed told the same change)
                channel = thread.channel or channel
                await self._refresh_parent(channel, thread.parent_ts)
            if one.item.kind == NoticeKind.RESPONSE_DOCUMENTS:
                await self._upload_documents(channel, thread_ts, one)
                await outbox.sent([one.item.id], None, thread_ts, self.owner)
                return 1
            posted = await self._post(channel, one.text, one.blocks or None, thread_ts, [one.item])
            await self._after_post(one, posted["channel"], posted["ts"], thread_ts or posted["ts"])
        except Exception as exc:
            await outbox.retry(one.item, self.owner, repr(exc))
            return 0
        await outbox.sent([one.item.id], posted["ts"], thread_ts, self.owner)
        return 1

    async def _upload_documents(self, channel: str, thread_ts: str | None, one: Rendered) -> None:
        """A response's stored documents, uploaded into the dispute's thread (files upload v2)
        for the approving manager to open: Slack's copy of what Paybot keeps and will send. An
        upload carries no message metadata, so one cut short by a crash may be repeated: a
        second copy in the thread, never a second copy at the processor."""
        documents = self._services.disputes.documents
        files = [await documents.file(d) for d in await documents.of(one.item.object_id)]
        if not files:
            return
        await self._pacer.wait(channel)
        try:
            await self._client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                initial_comment=one.text,
                file_uploads=[
                    {"content": f.content, "filename": f.name, "title": f.name} for f in files
                ],
            )
        finally:
            self._pacer.answered(channel)

    async def _update(self, one: Rendered) -> None:
        """Render a request's message again in its new state (not posted yet: it will show it)."""
        assert one.notice is not None
        where = self._services.notices.message(one.notice)
        if where is not None:
            channel, ts = where
            await self._client.chat_update(channel=channel, ts=ts, text=one.text, blocks=one.blocks)

    async def _refresh_parent(self, channel: str, message_ts: str | None) -> None:
        """Render the dispute's message again from the current state of every item in it."""
        if not message_ts:
            return
        items = await self._services.outbox.messages_of(message_ts)
        rendered = [await self._render(i) for i in items]
        if not rendered:
            return
        blocks = rendered[0].blocks if len(rendered) == 1 else chunk_blocks(rendered)
        await self._client.chat_update(
            channel=channel, ts=message_ts, text=rendered[0].text, blocks=blocks
        )

    async def _render(self, item: OutboxItem) -> Rendered:
        notice = await self._services.notices.load(item)
        if notice.kind == NoticeKind.DAILY_DIGEST:
            notice = await self._linked(notice)
        blocks, text = render(notice)
        return Rendered(item, blocks, text, notice)

    async def _linked(self, notice: Notice) -> Notice:
        """The digest's open items with links to their threads, asked of Slack as it is posted
        (a service knows where a thread is, not its link); a deleted thread stays unlinked."""
        items = list(notice.payload.get("open_items") or [])
        wanted = [
            (str(i), str(it[2]), str(it[3]))
            for i, it in enumerate(items)
            if it[2:4] and all(it[2:4])
        ]
        links = await permalinks(self._client, wanted) if wanted else {}
        for key, link in links.items():
            items[int(key)] = [items[int(key)][0], link, *items[int(key)][2:]]
        return replace(notice, payload={**notice.payload, "open_items": items})


def _body(one: Rendered) -> list[Block]:
    """An item's blocks in a digest: without its header, as the parent says what they are."""
    return [b for b in one.blocks if b.type != "header"]


def chunks(items: Sequence[Rendered]) -> list[list[Rendered]]:
    """Items in order, as few thread messages as Slack's 50 blocks allow: each message is a
    second of the channel's rate limit, so a burst of a thousand takes a few dozen."""
    grouped: list[list[Rendered]] = []
    size = 0
    for one in items:
        blocks = len(_body(one))
        if grouped and size + blocks <= BLOCKS_PER_MESSAGE:
            grouped[-1].append(one)
            size += blocks
        else:
            grouped.append([one])
            size = blocks
    return grouped


def chunk_blocks(chunk: Sequence[Rendered]) -> list[Block]:
    """Several items in one thread message: each starts with its bold title, and a dispute
    keeps its Respond and Accept buttons."""
    return [block for one in chunk for block in _body(one)][:BLOCKS_PER_MESSAGE]
