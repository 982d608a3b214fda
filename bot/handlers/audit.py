"""`/pay audit [transaction id | username]` (managers and admins)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.audit import audit_page
from bot.handlers import forms
from bot.handlers.commands import Command, Router
from bot.ids import ActionId, Subcommand
from bot.services.container import Services


class AuditPage(BaseModel):
    subject: str = Field(default="", max_length=200)
    before: int | None = Field(default=None, ge=0)


def register(app: AsyncApp, services: Services, router: Router) -> None:
    async def audit(cmd: Command) -> None:
        subject = cmd.args.strip() or None
        page = await services.audit.entries(subject=subject)
        await cmd.answer(audit_page(page, subject, services.settings.zone), "Audit log")

    router.add(Subcommand.AUDIT, audit)

    @app.action(ActionId.AUDIT_PAGE)
    async def older(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        wanted = forms.button_value(AuditPage, forms.action_value(action))
        subject = wanted.subject or None
        page = await services.audit.entries(subject=subject, before_id=wanted.before)
        blocks = audit_page(page, subject, services.settings.zone)
        await respond(blocks=blocks, replace_original=True, text="Audit log")
