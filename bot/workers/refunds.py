"""Refund jobs: post the approval message, execute at the processor, announce each milestone."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.refunds import (
    bookkeeping_checklist,
    matter_members_missing,
    milestone_text,
    refund_request_message,
    request_text,
)
from bot.domain import RefundRequestInfo
from bot.services import refunds as refund_jobs
from bot.services.container import Services
from bot.services.jobs import JobQueue
from bot.slack.directory import SlackDirectory
from bot.workers.runner import JobHandler

REPLY = "refund.reply"
DIRECT_MESSAGE = "refund.dm"
TOLD_ON_MILESTONE = {"submitted", "succeeded", "failed"}


class NotPostedYet(Exception):
    """The approval message is not posted yet; the job is retried after it is."""


class RefundJobs:
    def __init__(
        self, services: Services, client: AsyncWebClient, directory: SlackDirectory, queue: JobQueue
    ) -> None:
        self._services = services
        self._client = client
        self._directory = directory
        self._queue = queue

    def handlers(self) -> dict[str, JobHandler]:
        return {
            refund_jobs.POST_APPROVAL: self.post_approval,
            refund_jobs.EXECUTE: self.execute,
            refund_jobs.ANNOUNCE: self.announce,
            REPLY: self.reply,
            DIRECT_MESSAGE: self.direct_message,
        }

    async def post_approval(self, payload: dict[str, Any]) -> None:
        request = await self._services.refunds.get(payload["request_id"])
        if request.approval_ts:
            return
        channel = self._services.settings.paybot_approvals_channel
        assert channel, "PAYBOT_APPROVALS_CHANNEL is checked at start-up"
        posted = await self._client.chat_postMessage(
            channel=channel,
            text=request_text(request),
            blocks=refund_request_message(request),
            unfurl_links=False,
        )
        await self._services.refunds.set_approval_message(
            request.id, posted["channel"], posted["ts"]
        )

    async def execute(self, payload: dict[str, Any]) -> None:
        await self._services.refunds.execute(payload["request_id"])

    async def announce(self, payload: dict[str, Any]) -> None:
        """Update the parent message now; each post is its own job, so none repeats or is lost."""
        request_id, milestone = payload["request_id"], payload["milestone"]
        request = await self._refresh(request_id)
        key = f"{request_id}:{milestone}"
        await self._queue.add(
            REPLY, f"{REPLY}:{key}", {"request_id": request_id, "milestone": milestone}
        )
        if milestone in TOLD_ON_MILESTONE | {"rejected"} and request.requester_slack_id:
            await self._dm_job(request_id, milestone, request.requester_slack_id)
        if milestone in TOLD_ON_MILESTONE and request.matter_id:
            await self._tell_matter(request, milestone)

    async def _dm_job(self, request_id: str, milestone: str, user_id: str) -> None:
        await self._queue.add(
            DIRECT_MESSAGE,
            f"{DIRECT_MESSAGE}:{request_id}:{milestone}:{user_id}",
            {"request_id": request_id, "milestone": milestone, "user": user_id},
        )

    async def _tell_matter(self, request: RefundRequestInfo, milestone: str) -> None:
        matter = await self._services.matters.get(request.matter_id or "")
        if matter is None:
            return
        missing: list[str] = []
        for email in matter.members:
            user_id = await self._directory.user_for_email(email)
            if user_id is None:
                missing.append(email)
            elif user_id != request.requester_slack_id:
                await self._dm_job(request.id, milestone, user_id)
        if missing and milestone == "submitted":
            await self._queue.add(
                REPLY,
                f"{REPLY}:{request.id}:missing",
                {"request_id": request.id, "milestone": "missing", "emails": missing},
            )

    async def _refresh(self, request_id: str) -> RefundRequestInfo:
        request = await self._services.refunds.get(request_id)
        if request.approval_ts and request.approval_channel:
            await self._client.chat_update(
                channel=request.approval_channel,
                ts=request.approval_ts,
                text=f"{request_text(request)} ({request.state.value})",
                blocks=refund_request_message(request),
            )
        return request

    async def reply(self, payload: dict[str, Any]) -> None:
        request = await self._services.refunds.get(payload["request_id"])
        if not (request.approval_ts and request.approval_channel):
            raise NotPostedYet(request.id)
        milestone = payload["milestone"]
        if milestone == "missing":
            text = matter_members_missing(list(payload.get("emails", [])))
        else:
            text = milestone_text(request, milestone)
        await self._client.chat_postMessage(
            channel=request.approval_channel, thread_ts=request.approval_ts, text=text
        )
        if milestone == "succeeded":
            await self._client.chat_postMessage(
                channel=request.approval_channel,
                thread_ts=request.approval_ts,
                text=bookkeeping_checklist(request),
            )

    async def direct_message(self, payload: dict[str, Any]) -> None:
        request = await self._services.refunds.get(payload["request_id"])
        await self._client.chat_postMessage(
            channel=payload["user"], text=milestone_text(request, payload["milestone"])
        )
