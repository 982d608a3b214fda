"""Dispute jobs: post a drafted response in the dispute's thread, submit it, accept a dispute."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.disputes import response_draft, status_reply
from bot.services import disputes as dispute_jobs
from bot.services.container import Services
from bot.workers.runner import JobHandler

MILESTONE_TEXT = {
    "approved": "✅ Response approved by <@{decider}>: submitting the evidence to the processor.",
    "rejected": "❌ Response rejected by <@{decider}>.",
    "submitted": "📨 Evidence submitted to the processor. The bank will review it.",
    "failed": "⚠️ Submitting the evidence failed.",
}


class NotAnnouncedYet(Exception):
    """The dispute has no thread yet (its notification is still on its way); retried later."""


class DisputeJobs:
    def __init__(self, services: Services, client: AsyncWebClient) -> None:
        self._services = services
        self._client = client

    def handlers(self) -> dict[str, JobHandler]:
        return {
            dispute_jobs.POST_DRAFT: self.post_draft,
            dispute_jobs.SUBMIT: self.submit,
            dispute_jobs.ANNOUNCE: self.announce,
            dispute_jobs.ACCEPT: self.accept,
        }

    async def _thread(self, dispute_id: str) -> tuple[str, str]:
        where = await self._services.disputes.thread(dispute_id)
        if where is None or not (where.channel and where.thread_ts):
            raise NotAnnouncedYet(dispute_id)
        return where.channel, where.thread_ts

    async def post_draft(self, payload: dict[str, Any]) -> None:
        response = await self._services.disputes.response(payload["response_id"])
        if response.draft_ts:
            return
        channel, thread_ts = await self._thread(response.dispute_id)
        posted = await self._client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text="Dispute response drafted",
            blocks=response_draft(response),
        )
        await self._services.disputes.set_draft_message(
            response.id, str(posted["channel"]), str(posted["ts"])
        )

    async def submit(self, payload: dict[str, Any]) -> None:
        await self._services.disputes.submit(payload["response_id"])

    async def announce(self, payload: dict[str, Any]) -> None:
        response = await self._services.disputes.response(payload["response_id"])
        channel, thread_ts = await self._thread(response.dispute_id)
        if response.draft_ts and response.draft_channel:
            await self._client.chat_update(
                channel=response.draft_channel,
                ts=response.draft_ts,
                text="Dispute response",
                blocks=response_draft(response),
            )
        text = MILESTONE_TEXT[payload["milestone"]].format(
            decider=response.decided_by_slack_id or ""
        )
        await self._client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)

    async def accept(self, payload: dict[str, Any]) -> None:
        dispute = await self._services.disputes.accept(payload["dispute_id"])
        channel, thread_ts = await self._thread(dispute.id)
        await self._services.disputes.record_status(dispute)
        await self._client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=f"{status_reply(dispute)} (accepted by <@{payload['by']}>)",
        )
        await self._refresh_dispute(dispute.id)

    async def _refresh_dispute(self, dispute_id: str) -> None:
        """The status change arrives as a processor event too; this makes the parent current now."""
        dispute = await self._services.gateway.get_dispute(dispute_id)
        if dispute is not None:
            await self._services.disputes.record_status(dispute)
