"""The domain actions the worker takes after an ack, by job kind. None of them posts to Slack:
the messages they owe are recorded in the outbox with the change they announce."""

from __future__ import annotations

from typing import Any

from bot.ids import JobKind, Milestone, NoticeKind
from bot.services.container import Services
from bot.workers.runner import JobHandler


def job_handlers(services: Services) -> dict[str, JobHandler]:
    async def execute_refund(payload: dict[str, Any]) -> None:
        await services.refunds.execute(payload["request_id"])

    async def submit_response(payload: dict[str, Any]) -> None:
        await services.disputes.submit(payload["response_id"])

    async def accept_dispute(payload: dict[str, Any]) -> None:
        await services.disputes.accept(payload["dispute_id"], payload["by"])

    async def carry_out_acceptance(payload: dict[str, Any]) -> None:
        await services.disputes.acceptances.carry_out(payload["acceptance_id"])

    return {
        JobKind.REFUND_EXECUTE: execute_refund,
        JobKind.ACCEPTANCE_CARRY_OUT: carry_out_acceptance,
        JobKind.DISPUTE_SUBMIT: submit_response,
        JobKind.DISPUTE_ACCEPT: accept_dispute,
        **legacy_handlers(services),
    }


def legacy_handlers(services: Services) -> dict[str, JobHandler]:
    """Jobs an earlier version queued to post to Slack, still queued at the upgrade: each
    becomes the messages it stood for, in the outbox."""

    def milestone(payload: dict[str, Any]) -> Milestone | None:
        return Milestone(payload["milestone"]) if payload.get("milestone") else None

    async def retell_refund(payload: dict[str, Any]) -> None:
        await services.refunds.retell(payload["request_id"], milestone(payload))

    async def retell_response(payload: dict[str, Any]) -> None:
        await services.disputes.retell(payload["response_id"], milestone(payload))

    async def refund_reply(payload: dict[str, Any]) -> None:
        request_id, said = payload["request_id"], str(payload["milestone"])
        channel = services.settings.paybot_approvals_channel or ""
        if said == "missing":  # the matter's people Slack did not know
            kind, key = NoticeKind.MATTER_MISSING, f"{NoticeKind.MATTER_MISSING}:{request_id}"
            told: dict[str, Any] = {"emails": payload.get("emails", [])}
        else:
            kind, key = (
                NoticeKind.REFUND_MILESTONE,
                f"{NoticeKind.REFUND_MILESTONE}:{request_id}:{said}",
            )
            told = {"milestone": said}
        await services.outbox.add(
            key=key, kind=kind, channel=channel, object_id=request_id, payload=told
        )
        if said == Milestone.SUCCEEDED:
            await services.outbox.add(
                key=f"{NoticeKind.REFUND_CHECKLIST}:{request_id}",
                kind=NoticeKind.REFUND_CHECKLIST,
                channel=channel,
                object_id=request_id,
                payload={},
            )

    async def refund_dm(payload: dict[str, Any]) -> None:
        request_id, said, user = payload["request_id"], payload["milestone"], payload["user"]
        await services.outbox.add(
            key=f"{NoticeKind.REFUND_DM}:{request_id}:{said}:{user}",
            kind=NoticeKind.REFUND_DM,
            channel=user,
            object_id=request_id,
            payload={"milestone": said},
        )

    return {
        "refund.post_approval": retell_refund,
        "refund.announce": retell_refund,
        "refund.reply": refund_reply,
        "refund.dm": refund_dm,
        "dispute.post_draft": retell_response,
        "dispute.announce": retell_response,
    }
