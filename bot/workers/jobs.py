"""The domain actions the worker takes after an ack, by job kind. None of them posts to Slack:
the messages they owe are recorded in the outbox with the change they announce."""

from __future__ import annotations

from typing import Any

from bot.ids import JobKind
from bot.services.container import Services
from bot.workers.runner import JobHandler


def job_handlers(services: Services) -> dict[str, JobHandler]:
    async def execute_refund(payload: dict[str, Any]) -> None:
        await services.refunds.execute(payload["request_id"])

    async def submit_response(payload: dict[str, Any]) -> None:
        await services.disputes.submit(payload["response_id"])

    async def accept_dispute(payload: dict[str, Any]) -> None:
        await services.disputes.accept(payload["dispute_id"], payload["by"])

    return {
        JobKind.REFUND_EXECUTE: execute_refund,
        JobKind.DISPUTE_SUBMIT: submit_response,
        JobKind.DISPUTE_ACCEPT: accept_dispute,
    }
